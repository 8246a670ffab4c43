#pragma once
// Hyper-parameters of a Llama-family model, as read from a llama2.c header or an HF config.json.
#include <cstdint>
#include <string>
#include <vector>

namespace mixq::io {

struct LlamaConfig {
  int dim = 0;          // hidden size
  int hidden_dim = 0;   // MLP intermediate size
  int n_layers = 0;
  int n_heads = 0;
  int n_kv_heads = 0;   // < n_heads: grouped-query attention
  int vocab_size = 0;
  int seq_len = 0;      // maximum context
  float rope_theta = 10000.f;
  float rms_norm_eps = 1e-5f;
  bool tied_classifier = true;  // classifier shares the token embedding

  int head_size() const { return dim / n_heads; }
  int kv_dim() const { return head_size() * n_kv_heads; }
  // Throws Error(where, ...) when any value is impossible: every size must be positive and at
  // most the limits below (n_heads ≤ dim, n_kv_heads ≤ n_heads), heads must divide dim and kv
  // heads divide heads, the head size must be even, rope_theta and rms_norm_eps positive.
  static constexpr long kMaxDim = 1L << 20, kMaxLayers = 4096, kMaxVocab = 1L << 22, kMaxContext = 1L << 24;
  void validate(const std::string& where) const;
};

// Canonical tensor names (Hugging Face's) used everywhere inside mixq, whatever the source file.
namespace names {
std::string embedding();
std::string final_norm();
std::string classifier();
std::string attn_norm(int layer);
std::string ffn_norm(int layer);
std::string wq(int layer);
std::string wk(int layer);
std::string wv(int layer);
std::string wo(int layer);
std::string w1(int layer);  // gate_proj
std::string w2(int layer);  // down_proj
std::string w3(int layer);  // up_proj
}  // namespace names

// Every tensor a Llama model of `config` has, with its shape; `decoder_linear` marks the seven
// projections per layer that quantization methods replace.
struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
  bool decoder_linear;
};
std::vector<TensorSpec> llama_tensor_specs(const LlamaConfig& c);
// The model's parameters: every tensor's elements (a tied classifier counted once).
int64_t parameter_count(const LlamaConfig& c);

}  // namespace mixq::io
