// llama2.c legacy checkpoint reader. Every size is checked against the file length before
// anything is read, so a truncated or padded file is reported, never half-loaded.
#include <cstring>

#include "mixq/core/error.hpp"
#include "mixq/io/checkpoint.hpp"
#include "mixq/io/mapped_file.hpp"

namespace mixq::io {
namespace {

// The tensor of `shape` whose floats start at `*cursor` (left in the mapping); advances the cursor.
StoredTensor take(const std::shared_ptr<const MappedFile>& file, const std::string& name, const uint8_t*& cursor,
                  std::vector<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  const std::span<const uint8_t> bytes(cursor, size_t(n) * sizeof(float));
  cursor += bytes.size();
  return StoredTensor(file->path(), name, DType::F32, std::move(shape), bytes, file);
}

}  // namespace

StoredCheckpoint open_llama2c(const std::string& path) {
  const auto file = std::make_shared<const MappedFile>(path);
  const auto bytes = file->bytes();
  constexpr size_t kHeader = 7 * sizeof(int32_t);
  if (bytes.size() < kHeader)
    fail(path, "truncated llama2.c checkpoint: {} bytes, the header alone needs {}", bytes.size(),
         kHeader);
  int32_t h[7];
  std::memcpy(h, bytes.data(), kHeader);

  StoredCheckpoint ck;
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

  const uint8_t* cur = bytes.data() + kHeader;
  auto& T = ck.tensors;
  auto put = [&](const std::string& name, std::vector<int64_t> shape) { T.emplace(name, take(file, name, cur, std::move(shape))); };
  put(names::embedding(), {V, dim});
  // llama2.c groups each kind of tensor for all layers together.
  auto per_layer_tensors = [&](std::string (*name)(int), std::vector<int64_t> shape) {
    for (int l = 0; l < L; ++l) put(name(l), shape);
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
  put(names::final_norm(), {dim});
  cur += freq_cis * sizeof(float);
  if (!c.tied_classifier) put(names::classifier(), {V, dim});
  validate_llama_shapes(ck, true);
  return ck;
}

Checkpoint load_llama2c(const std::string& path) { return to_checkpoint(open_llama2c(path)); }

}  // namespace mixq::io
