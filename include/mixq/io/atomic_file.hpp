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
  // `test_kill_points`: MIXQ_TEST_KILL_AT=write|linked may stop the process in this file's writing
  // (off for a run's journal, rewritten after every layer, so that they hit the output itself).
  explicit AtomicFile(std::string path, bool test_kill_points = true);
  ~AtomicFile();  // removes the temporary file unless commit() succeeded
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(std::span<const uint8_t> bytes);
  void write(const std::string& s) { write({reinterpret_cast<const uint8_t*>(s.data()), s.size()}); }
  void commit();

 private:
  std::string path_, tmp_path_;
  int fd_ = -1;
  bool committed_ = false, kill_points_ = true;
  int writes_ = 0;
};

// Crash tests: the process SIGKILLs itself when MIXQ_TEST_KILL_AT equals `phase` (write, linked,
// layer<N> …), so a test kills a run at a defined point rather than after a guessed sleep.
void test_kill_point(const std::string& phase);

// Convenience: atomically replaces `path` with `contents`.
void write_file_atomic(const std::string& path, const std::string& contents, bool test_kill_points = true);

}  // namespace mixq::io
