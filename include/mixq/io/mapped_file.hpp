#pragma once
// A read-only memory-mapped file: parsers read straight from the mapping, so a multi-GB
// checkpoint costs no copy until a tensor is converted.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace mixq::io {

class MappedFile {
 public:
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&&) = delete;
  MappedFile(const MappedFile&) = delete;

  const std::string& path() const { return path_; }
  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  size_t size() const { return size_; }
  // Drops the whole pages of `part` (a range of bytes()) from this process's resident memory once
  // read; the page cache keeps them and a later read maps them back. Outside the mapping: no-op.
  void release(std::span<const uint8_t> part) const;

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

// Reads a whole file (text to evaluate or calibrate on, tokenizer bytes to embed).
std::string read_whole_file(const std::string& path);

}  // namespace mixq::io
