#pragma once
// Crash-safe output: bytes go to a temporary file in the target's directory, which is fsync'd
// and renamed over the target only when complete, so an interrupted run never leaves a half file.
// The target is checked (io/run_files.hpp) when the file is made and again before the rename: only
// a writable regular file that is not an input of this run is ever replaced.
#include <cstdint>
#include <span>
#include <string>

namespace mixq::io {

class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();  // removes the temporary file unless commit() succeeded
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(std::span<const uint8_t> bytes);
  void write(const std::string& s) { write({reinterpret_cast<const uint8_t*>(s.data()), s.size()}); }
  void commit();

 private:
  std::string path_, tmp_path_;
  int fd_ = -1;
  bool committed_ = false;
  int writes_ = 0;
};

// Convenience: atomically replaces `path` with `contents`.
void write_file_atomic(const std::string& path, const std::string& contents);

}  // namespace mixq::io
