// GGUF version 3 (llama.cpp's ggml/include/gguf.h documents the layout): little-endian; strings
// are a u64 length and bytes; a key-value pair is its key, a u32 value type and the value (arrays:
// element type, u64 count, elements); each tensor's description is its name, u32 rank, u64
// dimensions innermost first, u32 ggml type and u64 offset into the data section, which starts
// (and each tensor within it starts) at a multiple of the alignment.
#include <cstring>

#include "mixq/core/error.hpp"
#include "mixq/io/atomic_file.hpp"
#include "mixq/io/gguf.hpp"

namespace mixq::io {
namespace {

constexpr uint32_t U32 = uint32_t(GgufValueType::U32), I32 = uint32_t(GgufValueType::I32),
                   F32 = uint32_t(GgufValueType::F32), BOOL = uint32_t(GgufValueType::BOOL),
                   STRING = uint32_t(GgufValueType::STRING), ARRAY = uint32_t(GgufValueType::ARRAY);

template <typename T>
void put(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out.append(b, sizeof(T));
}

void put_string(std::string& out, const std::string& s) {
  put<uint64_t>(out, s.size());
  out += s;
}

uint64_t padded(uint64_t n, uint64_t alignment) { return (n + alignment - 1) / alignment * alignment; }

}  // namespace

void GgufWriter::put_key(const std::string& key, uint32_t type) {
  put_string(kv_, key);
  put<uint32_t>(kv_, type);
  ++kv_count_;
}
void GgufWriter::put_array_key(const std::string& key, uint32_t element_type, uint64_t count) {
  put_key(key, ARRAY);
  put<uint32_t>(kv_, element_type);
  put<uint64_t>(kv_, count);
}

void GgufWriter::add_u32(const std::string& key, uint32_t v) { put_key(key, U32); put(kv_, v); }
void GgufWriter::add_i32(const std::string& key, int32_t v) { put_key(key, I32); put(kv_, v); }
void GgufWriter::add_f32(const std::string& key, float v) { put_key(key, F32); put(kv_, v); }
void GgufWriter::add_bool(const std::string& key, bool v) { put_key(key, BOOL); put<uint8_t>(kv_, v ? 1 : 0); }
void GgufWriter::add_string(const std::string& key, const std::string& v) { put_key(key, STRING); put_string(kv_, v); }
void GgufWriter::add_strings(const std::string& key, const std::vector<std::string>& v) {
  put_array_key(key, STRING, v.size());
  for (const auto& s : v) put_string(kv_, s);
}
void GgufWriter::add_f32s(const std::string& key, const std::vector<float>& v) {
  put_array_key(key, F32, v.size());
  for (float x : v) put(kv_, x);
}
void GgufWriter::add_i32s(const std::string& key, const std::vector<int32_t>& v) {
  put_array_key(key, I32, v.size());
  for (int32_t x : v) put(kv_, x);
}

void GgufWriter::add_tensor(const std::string& name, const std::vector<int64_t>& shape, GgmlType type, uint64_t bytes,
                            Fill fill) {
  tensors_.push_back({name, shape, type, bytes, std::move(fill)});
}

void GgufWriter::write(const std::string& path) const {
  std::string head = "GGUF";
  put<uint32_t>(head, kVersion);
  put<uint64_t>(head, tensors_.size());
  put<uint64_t>(head, kv_count_);
  head += kv_;
  uint64_t offset = 0;
  for (const Tensor& t : tensors_) {
    put_string(head, t.name);
    put<uint32_t>(head, uint32_t(t.shape.size()));
    for (auto it = t.shape.rbegin(); it != t.shape.rend(); ++it) put<uint64_t>(head, uint64_t(*it));
    put<uint32_t>(head, uint32_t(t.type));
    put<uint64_t>(head, offset);
    offset = padded(offset + t.bytes, kAlignment);
  }
  head.resize(padded(head.size(), kAlignment), '\0');
  AtomicFile out(path);
  out.write(head);
  std::string data;
  for (const Tensor& t : tensors_) {
    data.clear();
    t.fill(data);
    if (data.size() != t.bytes)
      fail(path, "tensor '{}': {} bytes written where {} were announced", t.name, data.size(), t.bytes);
    data.resize(padded(data.size(), kAlignment), '\0');
    out.write(data);
  }
  out.commit();
}

}  // namespace mixq::io
