#pragma once
// GGUF, llama.cpp's model file (version 3): a header, typed key-value metadata, tensor
// descriptions, then each tensor's bytes at an aligned offset. GgufWriter writes one atomically;
// save_gguf writes a checkpoint as llama.cpp's "llama" architecture.
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "mixq/io/checkpoint.hpp"
#include "mixq/io/safetensors.hpp"

namespace mixq::io {

// The ggml tensor types mixq writes (ggml.h's numbering).
enum class GgmlType : uint32_t { F32 = 0, F16 = 1, Q4_0 = 2, Q8_0 = 8, BF16 = 30 };
const char* ggml_type_name(GgmlType t);

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

// The checkpoint as a llama.cpp "llama" model: hyper-parameters under llama.*, the tokenizer's
// scored vocabulary under tokenizer.ggml.*, the weights in `dtype` (F32, F16 or BF16; the norm
// vectors always F32) under llama.cpp's tensor names. Error naming what llama.cpp's llama
// architecture cannot express (q/k/v biases, q/k norms, a sliding window, RoPE scaling, a
// tokenizer.json vocabulary). A tensor named in `encoded` (mixq's canonical names) is written as
// those bytes instead (a quantized linear whose grid is exactly a ggml type's).
void save_gguf(const Checkpoint& ck, const std::string& path, DType dtype,
               const std::map<std::string, GgmlTensorBytes>& encoded = {});

}  // namespace mixq::io
