#pragma once
// safetensors: u64 little-endian header length N, N bytes of JSON, then the data. The reader
// maps the file and validates the whole header before handing out any tensor; the writer is
// atomic (temp file + rename).
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "mixq/core/tensor.hpp"
#include "mixq/io/mapped_file.hpp"

namespace mixq::io {

enum class DType { F32, F16, BF16, F64, I8, U8, I16, I32, I64, U16, U32, U64, BOOL };

const char* dtype_name(DType t);
size_t dtype_size(DType t);

struct SafetensorsEntry {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  std::span<const uint8_t> bytes;

  int64_t numel() const;
};

class SafetensorsFile {
 public:
  // Limits checked before anything is allocated from header values.
  static constexpr uint64_t kMaxHeaderBytes = 100u << 20;

  explicit SafetensorsFile(const std::string& path);

  const std::string& path() const { return file_.path(); }
  const std::vector<SafetensorsEntry>& entries() const { return entries_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const SafetensorsEntry* find(const std::string& name) const;
  const SafetensorsEntry& at(const std::string& name) const;  // Error when missing
  // F32/F16/BF16 entry as an owned fp32 tensor; Error for any other dtype.
  Tensor to_f32(const SafetensorsEntry& e) const;

 private:
  MappedFile file_;
  std::vector<SafetensorsEntry> entries_;
  std::map<std::string, size_t> by_name_;
  std::map<std::string, std::string> metadata_;
};

struct TensorToWrite {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

// Encodes fp32 values as F32, F16 or BF16 bytes.
std::vector<uint8_t> encode_f32_as(std::span<const float> values, DType dtype);

// Writes tensors (in the given order) and metadata atomically to `path`.
void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace mixq::io
