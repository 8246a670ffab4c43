// A checkpoint as llama.cpp's "llama" architecture (the keys and tensor names of llama.cpp's
// src/llama-arch.cpp and of its convert scripts). q/k rows are already in the order llama.cpp's
// RoPE expects (adjacent pairs, as llama2.c; HF checkpoints were un-permuted at load).
#include <filesystem>

#include "mixq/core/error.hpp"
#include "mixq/io/gguf.hpp"
#include "mixq/io/run_files.hpp"

namespace mixq::io {
namespace {

// mixq's name of each per-layer tensor beside llama.cpp's.
struct LayerTensor {
  std::string (*name)(int layer);
  const char* gguf;
  bool vector;  // a norm: stored F32 whatever the weights' dtype
};
const LayerTensor kLayerTensors[] = {
    {names::attn_norm, "attn_norm", true}, {names::wq, "attn_q", false},   {names::wk, "attn_k", false},
    {names::wv, "attn_v", false},          {names::wo, "attn_output", false}, {names::ffn_norm, "ffn_norm", true},
    {names::w1, "ffn_gate", false},        {names::w2, "ffn_down", false}, {names::w3, "ffn_up", false},
};

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
  if (c.rope_scaling.type != RopeScaling::Type::None) refuse("RoPE scaling");
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

// tokenizer.ggml.*: the scored vocabulary, padded with unused tokens up to the embedding's rows
// (llama.cpp wants one token per row, as its converter pads Qwen's).
void add_tokenizer(GgufWriter& w, const Tokenizer& tok, const LlamaConfig& c, const std::string& where) {
  auto vocab = tok.scored_vocab();
  if (!vocab)
    fail(where, "its {} tokenizer is not a scored SentencePiece-style vocabulary; GGUF export writes llama2.c and "
         "SentencePiece vocabularies", tok.kind());
  for (int i = int(vocab->tokens.size()); i < c.vocab_size; ++i) {
    vocab->tokens.push_back("[PAD" + std::to_string(i) + "]");
    vocab->scores.push_back(0.f);
    vocab->types.push_back(ScoredVocab::Unused);
  }
  w.add_string("tokenizer.ggml.model", "llama");
  w.add_strings("tokenizer.ggml.tokens", vocab->tokens);
  w.add_f32s("tokenizer.ggml.scores", vocab->scores);
  w.add_i32s("tokenizer.ggml.token_type", vocab->types);
  if (tok.bos_id() >= 0) w.add_u32("tokenizer.ggml.bos_token_id", uint32_t(tok.bos_id()));
  if (tok.eos_id() >= 0) w.add_u32("tokenizer.ggml.eos_token_id", uint32_t(tok.eos_id()));
  if (vocab->unk_id >= 0) w.add_u32("tokenizer.ggml.unknown_token_id", uint32_t(vocab->unk_id));
  w.add_bool("tokenizer.ggml.add_bos_token", tok.bos_id() >= 0);
  w.add_bool("tokenizer.ggml.add_eos_token", false);
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
  add_tokenizer(w, *ck.tokenizer, c, path);
  add_weight(w, "token_embd.weight", ck.at(names::embedding()), dtype);
  add_weight(w, "output_norm.weight", ck.at(names::final_norm()), DType::F32);
  if (!c.tied_classifier) add_weight(w, "output.weight", ck.at(names::classifier()), dtype);
  for (int l = 0; l < c.n_layers; ++l)
    for (const LayerTensor& lt : kLayerTensors) {
      const std::string name = "blk." + std::to_string(l) + "." + lt.gguf + ".weight";
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
