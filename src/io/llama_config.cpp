#include "mixq/io/llama_config.hpp"

#include <cmath>

#include "mixq/core/error.hpp"

namespace mixq::io {

void LlamaConfig::validate(const std::string& where) const {
  // The upper bounds guard against headers that would make later size arithmetic overflow.
  auto bounded = [&](const char* what, long v, long max) {
    if (v <= 0) fail(where, "{} must be positive, got {}", what, v);
    if (v > max) fail(where, "{} {} exceeds the limit {}", what, v, max);
  };
  bounded("dim", dim, kMaxDim);
  bounded("hidden_dim", hidden_dim, kMaxDim);
  bounded("n_layers", n_layers, kMaxLayers);
  bounded("n_heads", n_heads, dim);
  bounded("n_kv_heads", n_kv_heads, n_heads);
  bounded("vocab_size", vocab_size, kMaxVocab);
  bounded("seq_len", seq_len, kMaxContext);
  if (dim % n_heads != 0) fail(where, "dim {} is not a multiple of n_heads {}", dim, n_heads);
  if (n_heads % n_kv_heads != 0)
    fail(where, "n_heads {} is not a multiple of n_kv_heads {}", n_heads, n_kv_heads);
  if (head_size() % 2 != 0) fail(where, "head size {} must be even for RoPE", head_size());
  if (!(rope_theta > 0.f) || !std::isfinite(rope_theta))
    fail(where, "rope_theta must be positive, got {}", rope_theta);
  if (!(rms_norm_eps > 0.f) || !std::isfinite(rms_norm_eps))
    fail(where, "rms_norm_eps must be positive, got {}", rms_norm_eps);
}

namespace names {
namespace {
std::string layer(int i, const char* rest) { return "model.layers." + std::to_string(i) + "." + rest; }
}  // namespace
std::string embedding() { return "model.embed_tokens.weight"; }
std::string final_norm() { return "model.norm.weight"; }
std::string classifier() { return "lm_head.weight"; }
std::string attn_norm(int i) { return layer(i, "input_layernorm.weight"); }
std::string ffn_norm(int i) { return layer(i, "post_attention_layernorm.weight"); }
std::string wq(int i) { return layer(i, "self_attn.q_proj.weight"); }
std::string wk(int i) { return layer(i, "self_attn.k_proj.weight"); }
std::string wv(int i) { return layer(i, "self_attn.v_proj.weight"); }
std::string wo(int i) { return layer(i, "self_attn.o_proj.weight"); }
std::string w1(int i) { return layer(i, "mlp.gate_proj.weight"); }
std::string w2(int i) { return layer(i, "mlp.down_proj.weight"); }
std::string w3(int i) { return layer(i, "mlp.up_proj.weight"); }
}  // namespace names

std::vector<TensorSpec> llama_tensor_specs(const LlamaConfig& c) {
  const int64_t dim = c.dim, hid = c.hidden_dim, kv = c.kv_dim(), V = c.vocab_size;
  std::vector<TensorSpec> specs = {{names::embedding(), {V, dim}, false}, {names::final_norm(), {dim}, false}};
  if (!c.tied_classifier) specs.push_back({names::classifier(), {V, dim}, false});
  for (int l = 0; l < c.n_layers; ++l) {
    specs.push_back({names::attn_norm(l), {dim}, false});
    specs.push_back({names::ffn_norm(l), {dim}, false});
    specs.push_back({names::wq(l), {dim, dim}, true});
    specs.push_back({names::wk(l), {kv, dim}, true});
    specs.push_back({names::wv(l), {kv, dim}, true});
    specs.push_back({names::wo(l), {dim, dim}, true});
    specs.push_back({names::w1(l), {hid, dim}, true});
    specs.push_back({names::w2(l), {dim, hid}, true});
    specs.push_back({names::w3(l), {hid, dim}, true});
  }
  return specs;
}

int64_t parameter_count(const LlamaConfig& c) {
  int64_t n = 0;
  for (const auto& spec : llama_tensor_specs(c)) {
    int64_t elements = 1;
    for (int64_t d : spec.shape) elements *= d;
    n += elements;
  }
  return n;
}

}  // namespace mixq::io
