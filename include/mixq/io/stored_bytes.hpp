#pragma once
// The bytes of a stored part (a packed tensor's codes, scales, …): either held in memory (made by
// a method, read from a scratch file) or a range of a read-only mapped file, which they keep open.
// A part read from a quantized file then costs no copy, and its pages can be dropped once the
// model has what it needs from them (a layout built from them, a batch multiplied).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "mixq/io/mapped_file.hpp"

namespace mixq::io {

class StoredBytes {
 public:
  StoredBytes() = default;
  StoredBytes(std::vector<uint8_t> held) : held_(std::move(held)) {}  // NOLINT: a vector is bytes held
  // `bytes` inside `file`, kept open while these bytes live.
  StoredBytes(std::span<const uint8_t> bytes, std::shared_ptr<const MappedFile> file)
      : file_(std::move(file)), mapped_(bytes) {}

  const uint8_t* data() const { return file_ ? mapped_.data() : held_.data(); }
  size_t size() const { return file_ ? mapped_.size() : held_.size(); }
  bool empty() const { return size() == 0; }
  const uint8_t* begin() const { return data(); }
  const uint8_t* end() const { return data() + size(); }
  uint8_t operator[](size_t i) const { return data()[i]; }
  operator std::span<const uint8_t>() const { return {data(), size()}; }  // NOLINT: a view of them
  bool mapped() const { return file_ != nullptr; }

  // The bytes held in memory, to change them (a mapped range is copied first).
  std::vector<uint8_t>& edit();
  // Mapped: drops their pages from this process's resident memory (the page cache keeps them; a
  // later read maps them back). Held: nothing.
  void release_pages() const;

  friend bool operator==(const StoredBytes& a, const StoredBytes& b);

 private:
  std::vector<uint8_t> held_;
  std::shared_ptr<const MappedFile> file_;
  std::span<const uint8_t> mapped_;
};

}  // namespace mixq::io
