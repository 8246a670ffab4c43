// A checkpoint as llama.cpp's "llama" architecture (the keys and tensor names of llama.cpp's
// src/llama-arch.cpp and of its convert scripts). q/k rows are already in the order llama.cpp's
// RoPE expects (adjacent pairs, as llama2.c; HF checkpoints were un-permuted at load).
#include <filesystem>

#include "mixq/core/error.hpp"
#include "mixq/io/gguf.hpp"
#include "mixq/io/gguf_vocab.hpp"
#include "mixq/io/rope_freq_factors.hpp"
#include "mixq/io/run_files.hpp"
#include "gguf_names.hpp"

namespace mixq::io {
namespace {

GgmlType ggml_type_of(DType d, const std::string& where) {
  switch (d) {
    case DType::F32: return GgmlType::F32;
    case DType::F16: return GgmlType::F16;
    case DType::BF16: return GgmlType::BF16;
    default: fail(where, "GGUF export writes F32, F16 or BF16 weights, not {}", dtype_name(d));
  }
}

// llama.cpp's general.file_type (LLAMA_FTYPE_ALL_F32, MOSTLY_F16, MOSTLY_BF16).
uint32_t file_type_of(GgmlType t) { return t == GgmlType::F32 ? 0 : t == GgmlType::F16 ? 1 : 32; }

void refuse_what_llama_cannot_express(const LlamaConfig& c, const std::string& where) {
  auto refuse = [&](const char* what) {
    fail(where, "the model has {}, which llama.cpp's llama architecture cannot express; GGUF export supports plain Llama models", what);
  };
  if (c.qkv_bias) refuse("q/k/v biases (Qwen2)");
  if (c.qk_norm) refuse("per-head q/k norms (Qwen3)");
  if (c.sliding_window > 0) refuse("a sliding attention window (Mistral)");
}

// Linear scaling is said with keys; Llama-3's rule (and divisors read from a GGUF) as the
// rope_freqs.weight tensor llama.cpp's converter writes.
void add_rope_scaling(GgufWriter& w, const LlamaConfig& c) {
  if (c.rope_scaling.type == RopeScaling::Type::Linear) {
    w.add_string("llama.rope.scaling.type", "linear");
    w.add_f32("llama.rope.scaling.factor", c.rope_scaling.factor);
  }
  const std::vector<float> factors = rope_freq_factors(c);
  if (factors.empty()) return;
  w.add_tensor(kRopeFreqsTensor, {int64_t(factors.size())}, GgmlType::F32, factors.size() * sizeof(float),
               [factors](std::string& out) { out.append(reinterpret_cast<const char*>(factors.data()), factors.size() * sizeof(float)); });
}

void add_hyperparameters(GgufWriter& w, const LlamaConfig& c, const std::string& name, GgmlType type) {
  w.add_string("general.architecture", "llama");
  w.add_string("general.name", name);
  w.add_u32("general.file_type", file_type_of(type));
  w.add_u32("general.alignment", uint32_t(GgufWriter::kAlignment));
  w.add_u32("llama.vocab_size", uint32_t(c.vocab_size));
  w.add_u32("llama.context_length", uint32_t(c.seq_len));
  w.add_u32("llama.embedding_length", uint32_t(c.dim));
  w.add_u32("llama.block_count", uint32_t(c.n_layers));
  w.add_u32("llama.feed_forward_length", uint32_t(c.hidden_dim));
  w.add_u32("llama.rope.dimension_count", uint32_t(c.head_size()));
  w.add_u32("llama.attention.head_count", uint32_t(c.n_heads));
  w.add_u32("llama.attention.head_count_kv", uint32_t(c.n_kv_heads));
  if (c.head_size() * c.n_heads != c.dim) {
    w.add_u32("llama.attention.key_length", uint32_t(c.head_size()));
    w.add_u32("llama.attention.value_length", uint32_t(c.head_size()));
  }
  w.add_f32("llama.attention.layer_norm_rms_epsilon", c.rms_norm_eps);
  w.add_f32("llama.rope.freq_base", c.rope_theta);
}

void add_weight(GgufWriter& w, const std::string& gguf_name, const Tensor& t, DType dtype) {
  const GgmlType type = ggml_type_of(dtype, gguf_name);
  const uint64_t bytes = uint64_t(t.numel()) * dtype_size(dtype);
  w.add_tensor(gguf_name, t.shape, type, bytes, [&t, dtype](std::string& out) {
    const auto b = encode_f32_as(t.data, dtype);
    out.append(reinterpret_cast<const char*>(b.data()), b.size());
  });
}

}  // namespace

void save_gguf(const Checkpoint& ck, const std::string& path, DType dtype,
               const std::map<std::string, GgmlTensorBytes>& encoded) {
  const LlamaConfig& c = ck.config;
  c.validate(path);
  refuse_what_llama_cannot_express(c, path);
  if (!ck.tokenizer) fail(path, "GGUF export needs the model's tokenizer (none was found; give --tokenizer)");
  check_tokenizer_fits(*ck.tokenizer, c.vocab_size, path);
  check_output_file(path);
  GgufWriter w;
  add_hyperparameters(w, c, std::filesystem::path(ck.source).stem().string(), ggml_type_of(dtype, path));
  add_rope_scaling(w, c);
  write_gguf_vocab(w, gguf_vocab_of(*ck.tokenizer, path), c.vocab_size);
  add_weight(w, gguf_names::kEmbedding, ck.at(names::embedding()), dtype);
  add_weight(w, gguf_names::kFinalNorm, ck.at(names::final_norm()), DType::F32);
  if (!c.tied_classifier) add_weight(w, gguf_names::kClassifier, ck.at(names::classifier()), dtype);
  for (int l = 0; l < c.n_layers; ++l)
    for (const gguf_names::LayerTensor& lt : gguf_names::kLayerTensors) {
      const std::string name = gguf_names::layer_name(l, lt);
      const Tensor& t = ck.at(lt.name(l));
      if (auto it = encoded.find(lt.name(l)); it != encoded.end())
        w.add_tensor(name, t.shape, it->second.type, it->second.bytes.size(),
                     [&b = it->second.bytes](std::string& out) { out += b; });
      else
        add_weight(w, name, t, lt.vector ? DType::F32 : dtype);
    }
  w.write(path);
}

}  // namespace mixq::io
