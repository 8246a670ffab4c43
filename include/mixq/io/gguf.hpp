#pragma once
// GGUF, llama.cpp's model file (version 3): a header, typed key-value metadata, tensor
// descriptions, then each tensor's bytes at an aligned offset. GgufWriter writes one atomically;
// save_gguf writes a checkpoint as llama.cpp's "llama" architecture. GgufFile reads one (mapped,
// every offset and count checked); open_gguf opens it as a checkpoint (docs/DESIGN.md "GGUF files").
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "mixq/io/checkpoint.hpp"
#include "mixq/io/ggml_type.hpp"
#include "mixq/io/mapped_file.hpp"
#include "mixq/io/safetensors.hpp"

namespace mixq::io {

// A metadata value's type (gguf.h's numbering).
enum class GgufValueType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, BOOL = 7, STRING = 8, ARRAY = 9, U64 = 10, I64 = 11, F64 = 12,
};

// A tensor already encoded as a ggml type (rows of blocks), written as it is.
struct GgmlTensorBytes {
  GgmlType type;
  std::string bytes;
};

class GgufWriter {
 public:
  static constexpr uint32_t kVersion = 3;
  static constexpr uint64_t kAlignment = 32;  // general.alignment's default

  void add_u32(const std::string& key, uint32_t v);
  void add_i32(const std::string& key, int32_t v);
  void add_f32(const std::string& key, float v);
  void add_bool(const std::string& key, bool v);
  void add_string(const std::string& key, const std::string& v);
  void add_strings(const std::string& key, const std::vector<std::string>& v);
  void add_f32s(const std::string& key, const std::vector<float>& v);
  void add_i32s(const std::string& key, const std::vector<int32_t>& v);

  // A tensor of `shape` (row-major, as mixq holds it: GGUF lists the dimensions innermost first),
  // whose `bytes` bytes `fill` appends to its argument when the file is written, so that only one
  // tensor's bytes are in memory at a time.
  using Fill = std::function<void(std::string& out)>;
  void add_tensor(const std::string& name, const std::vector<int64_t>& shape, GgmlType type, uint64_t bytes, Fill fill);

  // Writes the file atomically (io/atomic_file.hpp); Error naming the tensor whose bytes differ
  // from their announced size.
  void write(const std::string& path) const;

 private:
  // A pair's key and value type (an array's: then its element type and count), counted.
  void put_key(const std::string& key, uint32_t type);
  void put_array_key(const std::string& key, uint32_t element_type, uint64_t count);

  struct Tensor {
    std::string name;
    std::vector<int64_t> shape;
    GgmlType type;
    uint64_t bytes;
    Fill fill;
  };
  std::string kv_;  // the encoded key-value pairs
  uint64_t kv_count_ = 0;
  std::vector<Tensor> tensors_;
};

// The checkpoint as a llama.cpp "llama" model: hyper-parameters under llama.*, the tokenizer
// under tokenizer.ggml.* (gguf_vocab.hpp), the weights in `dtype` (F32, F16 or BF16; the norm
// vectors always F32) under llama.cpp's tensor names. Error naming what llama.cpp's llama
// architecture cannot express (q/k/v biases, q/k norms, a sliding window, RoPE scaling, a
// tokenizer.json that is not byte-level BPE with a pre-tokenizer llama.cpp names). A tensor named in `encoded` (mixq's canonical names) is written as
// those bytes instead (a quantized linear whose grid is exactly a ggml type's).
void save_gguf(const Checkpoint& ck, const std::string& path, DType dtype,
               const std::map<std::string, GgmlTensorBytes>& encoded = {});

}  // namespace mixq::io

namespace mixq::io {

// A GGUF file opened for reading: its structure is checked when it is opened (version 2 or 3,
// little-endian, counts and strings within the file, no duplicate keys or tensors, ranks 1–4,
// every tensor's bytes inside the data section at an aligned offset, types mixq decodes); values
// are decoded when asked for.
class GgufFile {
 public:
  static constexpr uint64_t kMaxAlignment = 1 << 16;

  explicit GgufFile(const std::string& path);

  struct TensorInfo {
    std::string name;
    std::vector<int64_t> shape;  // row-major, outermost first (GGUF lists innermost first)
    GgmlType type;
    std::span<const uint8_t> bytes;
  };

  const std::string& path() const { return file_->path(); }
  uint32_t version() const { return version_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const std::shared_ptr<const MappedFile>& file() const { return file_; }
  bool has(const std::string& key) const { return kv_.count(key) > 0; }
  std::vector<std::string> keys() const;

  // Typed reads of key `key`: nullopt when absent, Error(path, ...) naming the key when its value
  // has another type (any integer type for an integer, F32/F64 for a float).
  std::optional<int64_t> get_int(const std::string& key) const;
  std::optional<double> get_float(const std::string& key) const;
  std::optional<bool> get_bool(const std::string& key) const;
  std::optional<std::string> get_string(const std::string& key) const;
  std::optional<std::vector<std::string>> get_strings(const std::string& key) const;
  std::optional<std::vector<float>> get_floats(const std::string& key) const;  // F32/F64 array
  std::optional<std::vector<int64_t>> get_ints(const std::string& key) const;  // any integer array

 private:
  struct Value {
    GgufValueType type, element;  // element: an array's element type
    uint64_t count;               // an array's length
    std::span<const uint8_t> bytes;
  };
  const Value* find(const std::string& key, const char* what, bool array) const;

  std::shared_ptr<const MappedFile> file_;
  uint32_t version_ = 0;
  std::map<std::string, Value> kv_;
  std::vector<TensorInfo> tensors_;
};

// A GGUF model as a checkpoint: architecture "llama" (Llama, Mistral and their fine-tunes as
// llama.cpp's converter writes them), "qwen2" or "qwen3", hyper-parameters from <arch>.*, Llama-3's
// RoPE scaling from rope_freqs.weight, tensors under mixq's names in
// their stored type (ggml blocks are decoded row by row when read), and, unless `tokenizer` is
// false, the tokenizer its metadata holds (gguf_vocab.hpp: "llama" and "gpt2" vocabularies). Error naming the key, tensor or feature mixq cannot read.
StoredCheckpoint open_gguf(const std::string& path, bool tokenizer = true);
// The same from a file already opened (its tensors keep the mapping alive).
StoredCheckpoint open_gguf(const GgufFile& f, bool tokenizer = true);

}  // namespace mixq::io
