#pragma once
// Hyper-parameters of a Llama-family model, as read from a llama2.c header or an HF config.json.
#include <cstdint>
#include <string>
#include <vector>

namespace mixq::io {

// How RoPE's frequencies are rescaled for contexts longer than the model was trained on
// (config.json "rope_scaling"): Linear divides every frequency by `factor`; Llama3 divides only the
// low frequencies and blends the middle band (Llama-3.1's rule); FreqFactors divides rotation pair
// j's frequency by freq_factors[j], as llama.cpp does with a GGUF's rope_freqs.weight when the
// factors match no Llama-3 parameters (rope_freq_factors.hpp).
struct RopeScaling {
  enum class Type { None, Linear, Llama3, FreqFactors };
  Type type = Type::None;
  float factor = 1.f;
  float low_freq_factor = 1.f, high_freq_factor = 4.f;
  int original_context = 8192;     // original_max_position_embeddings
  std::vector<float> freq_factors;  // FreqFactors: one per rotation pair of a head
};

// Which Hugging Face architecture a config describes, and so which optional parts each decoder
// layer has: biases on q/k/v (Qwen2), per-head RMSNorm of q and k before RoPE (Qwen3).
enum class Architecture { Llama, Mistral, Qwen2, Qwen3 };

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
  Architecture architecture = Architecture::Llama;
  int head_dim = 0;        // per-head width when config.json sets it; 0: dim / n_heads
  bool qkv_bias = false;   // q/k/v projections add a bias (Qwen2)
  bool qk_norm = false;    // q and k are RMS-normalized per head before RoPE (Qwen3)
  int sliding_window = 0;  // > 0: a token attends to at most this many positions, itself included (Mistral)
  RopeScaling rope_scaling;
  // Special tokens config.json names (generation also stops at any EOS); -1 / empty: not given.
  int bos_token_id = -1;
  std::vector<int> eos_token_ids;

  int head_size() const { return head_dim > 0 ? head_dim : dim / n_heads; }
  int q_dim() const { return head_size() * n_heads; }  // width of q and of the attention output
  int kv_dim() const { return head_size() * n_kv_heads; }
  // Throws Error(where, ...) when any value is impossible: every size must be positive and at
  // most the limits below (n_heads ≤ dim, n_kv_heads ≤ n_heads), heads must divide dim (unless
  // head_dim is explicit) and kv heads divide heads, the head size must be even, rope_theta and
  // rms_norm_eps positive, a rope scaling factor ≥ 1, frequency factors one per rotation pair,
  // finite and positive.
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
std::string bq(int layer);  // q/k/v biases (qkv_bias)
std::string bk(int layer);
std::string bv(int layer);
std::string q_norm(int layer);  // per-head q/k RMSNorm weights (qk_norm)
std::string k_norm(int layer);
}  // namespace names

// Every tensor a Llama model of `config` has, with its shape; `decoder_linear` marks the seven
// projections per layer that quantization methods replace.
struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
  bool decoder_linear;
};
std::vector<TensorSpec> llama_tensor_specs(const LlamaConfig& c);
// The per-layer vectors (norms, biases) a layer of `c` has, with their lengths, in file order.
struct LayerVectorSpec {
  std::string (*name)(int layer);
  int64_t length;
};
std::vector<LayerVectorSpec> layer_vector_specs(const LlamaConfig& c);
// RoPE's inverse frequency of each of the head's head_size/2 rotation pairs, rope_scaling applied.
std::vector<float> rope_inv_freq(const LlamaConfig& c);
// The model's parameters: every tensor's elements (a tied classifier counted once).
int64_t parameter_count(const LlamaConfig& c);

}  // namespace mixq::io
