#pragma once
// safetensors: u64 little-endian header length N, N bytes of JSON, then the data. The reader
// maps the file and validates the whole header before handing out any tensor; the writer is
// atomic (temp file + rename).
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "mixq/core/tensor.hpp"
#include "mixq/io/mapped_file.hpp"

namespace mixq::io {

enum class DType { F32, F16, BF16, F64, I8, U8, I16, I32, I64, U16, U32, U64, BOOL };

const char* dtype_name(DType t);
// The dtype spelled `name` ("F32", "BF16" …); Error naming `where` otherwise.
DType parse_dtype(const std::string& name, const std::string& where);
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

  const std::string& path() const { return file_->path(); }
  // The mapping the entries' bytes lie in (tensors read lazily keep it open).
  const std::shared_ptr<const MappedFile>& mapping() const { return file_; }
  const std::vector<SafetensorsEntry>& entries() const { return entries_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const SafetensorsEntry* find(const std::string& name) const;
  const SafetensorsEntry& at(const std::string& name) const;  // Error when missing
  // F32/F16/BF16 entry as an owned fp32 tensor; Error for any other dtype.
  Tensor to_f32(const SafetensorsEntry& e) const;

 private:
  std::shared_ptr<const MappedFile> file_;
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

// Writes a safetensors file whose tensors arrive one at a time, so none has to stay in memory: data
// goes to an unnamed scratch file in the target's directory, and finish() writes the header and
// then the data into the target atomically (AtomicFile). The target is checked when the writer is
// made, before any work. A run killed or failing before finish() leaves the previous file intact.
class SafetensorsWriter {
 public:
  struct Entry {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;
    uint64_t size;
  };
  // `scratch` names the scratch file instead (kept when the run stops early, so that it can be
  // continued: quantize --resume); `keep` opens an existing one without emptying it.
  explicit SafetensorsWriter(const std::string& path, const std::string& scratch = "", bool keep = false);
  ~SafetensorsWriter();
  SafetensorsWriter(const SafetensorsWriter&) = delete;
  SafetensorsWriter& operator=(const SafetensorsWriter&) = delete;

  const std::string& path() const { return path_; }
  // Appends a tensor (bytes checked against shape and dtype); data lies in the order added.
  void add(const std::string& name, DType dtype, std::vector<int64_t> shape, std::span<const uint8_t> bytes);
  const std::vector<Entry>& entries() const { return entries_; }
  // Continues from a named scratch file holding these entries' data (Error when it is shorter);
  // anything after them is cut off.
  void restore(std::vector<Entry> entries);
  // The data of entry i, read back from the scratch file.
  std::vector<uint8_t> read(size_t i) const;
  // The data so far is on disk (before a journal says so).
  void sync();
  // Writes the target; a named scratch file is removed.
  void finish(const std::map<std::string, std::string>& metadata);

 private:
  std::string path_;
  std::unique_ptr<class AtomicFile> out_;
  std::string scratch_path_;
  int scratch_ = -1;
  std::vector<Entry> entries_;
  uint64_t data_bytes_ = 0;
};

// Writes tensors (in the given order) and metadata atomically to `path`.
void write_safetensors(const std::string& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace mixq::io
