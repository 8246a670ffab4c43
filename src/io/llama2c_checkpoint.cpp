// llama2.c legacy checkpoint reader. Every size is checked against the file length before
// anything is read, so a truncated or padded file is reported, never half-loaded.
#include <cstring>

#include "mixq/core/error.hpp"
#include "mixq/core/memory.hpp"
#include "mixq/io/checkpoint.hpp"
#include "mixq/io/mapped_file.hpp"

namespace mixq::io {
namespace {

// Copies `count` floats starting at `*cursor` into a tensor of `shape` and advances the cursor.
Tensor take(const uint8_t*& cursor, std::vector<int64_t> shape) {
  Tensor t;
  t.shape = std::move(shape);
  t.data.resize(size_t(t.numel()));
  std::memcpy(t.data.data(), cursor, t.data.size() * sizeof(float));
  cursor += t.data.size() * sizeof(float);
  return t;
}

}  // namespace

Checkpoint load_llama2c(const std::string& path) {
  MappedFile file(path);
  const auto bytes = file.bytes();
  constexpr size_t kHeader = 7 * sizeof(int32_t);
  if (bytes.size() < kHeader)
    fail(path, "truncated llama2.c checkpoint: {} bytes, the header alone needs {}", bytes.size(),
         kHeader);
  int32_t h[7];
  std::memcpy(h, bytes.data(), kHeader);

  Checkpoint ck;
  ck.source = path;
  LlamaConfig& c = ck.config;
  c.dim = h[0];
  c.hidden_dim = h[1];
  c.n_layers = h[2];
  c.n_heads = h[3];
  c.n_kv_heads = h[4];
  c.tied_classifier = h[5] > 0;
  c.vocab_size = h[5] > 0 ? h[5] : (h[5] == INT32_MIN ? 0 : -h[5]);
  c.seq_len = h[6];
  c.validate(path + ": llama2.c header");

  const int64_t dim = c.dim, hid = c.hidden_dim, L = c.n_layers, kv = c.kv_dim(), V = c.vocab_size;
  const int64_t per_layer = 2 * dim + dim * dim * 2 + 2 * kv * dim + 3 * dim * hid;
  const int64_t freq_cis = int64_t(c.seq_len) * c.head_size();  // legacy real + imag tables
  const int64_t floats = V * dim + L * per_layer + dim + freq_cis + (c.tied_classifier ? 0 : V * dim);
  const int64_t expected = int64_t(kHeader) + floats * int64_t(sizeof(float));
  if (int64_t(bytes.size()) != expected)
    fail(path, "size mismatch: header (dim {}, hidden_dim {}, layers {}, vocab {}) implies {} bytes, "
         "file has {}{}", c.dim, c.hidden_dim, c.n_layers, V, expected, bytes.size(),
         int64_t(bytes.size()) < expected ? " (truncated?)" : "");

  require_memory(size_t(floats) * sizeof(float), "the checkpoint's fp32 weights", path);
  const uint8_t* cur = bytes.data() + kHeader;
  auto& T = ck.tensors;
  T[names::embedding()] = take(cur, {V, dim});
  // llama2.c groups each kind of tensor for all layers together.
  auto per_layer_tensors = [&](std::string (*name)(int), std::vector<int64_t> shape) {
    for (int l = 0; l < L; ++l) T[name(l)] = take(cur, shape);
  };
  per_layer_tensors(names::attn_norm, {dim});
  per_layer_tensors(names::wq, {dim, dim});
  per_layer_tensors(names::wk, {kv, dim});
  per_layer_tensors(names::wv, {kv, dim});
  per_layer_tensors(names::wo, {dim, dim});
  per_layer_tensors(names::ffn_norm, {dim});
  per_layer_tensors(names::w1, {hid, dim});
  per_layer_tensors(names::w2, {dim, hid});
  per_layer_tensors(names::w3, {hid, dim});
  T[names::final_norm()] = take(cur, {dim});
  cur += freq_cis * sizeof(float);
  if (!c.tied_classifier) T[names::classifier()] = take(cur, {V, dim});
  validate_llama_tensors(ck);
  return ck;
}

}  // namespace mixq::io
