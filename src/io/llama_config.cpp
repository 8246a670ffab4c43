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
  if (head_dim < 0 || head_dim > kMaxDim) fail(where, "head_dim {} is outside [1, {}]", head_dim, kMaxDim);
  if (head_dim == 0 && dim % n_heads != 0) fail(where, "dim {} is not a multiple of n_heads {}", dim, n_heads);
  if (long(head_size()) * n_heads > kMaxDim)
    fail(where, "head_dim {} × n_heads {} exceeds the limit {}", head_size(), n_heads, kMaxDim);
  if (n_heads % n_kv_heads != 0)
    fail(where, "n_heads {} is not a multiple of n_kv_heads {}", n_heads, n_kv_heads);
  if (head_size() % 2 != 0) fail(where, "head size {} must be even for RoPE", head_size());
  if (!(rope_theta > 0.f) || !std::isfinite(rope_theta))
    fail(where, "rope_theta must be positive, got {}", rope_theta);
  if (!(rms_norm_eps > 0.f) || !std::isfinite(rms_norm_eps))
    fail(where, "rms_norm_eps must be positive, got {}", rms_norm_eps);
  if (sliding_window < 0) fail(where, "sliding_window must be positive, got {}", sliding_window);
  const RopeScaling& r = rope_scaling;
  if (r.type == RopeScaling::Type::FreqFactors) {
    if (r.freq_factors.size() != size_t(head_size() / 2))
      fail(where, "RoPE frequency factors: {} given, the head has {} rotation pairs", r.freq_factors.size(), head_size() / 2);
    for (size_t j = 0; j < r.freq_factors.size(); ++j)
      if (!(r.freq_factors[j] > 0.f) || !std::isfinite(r.freq_factors[j]))
        fail(where, "RoPE frequency factor {} is {}; each must be finite and positive", j, r.freq_factors[j]);
  } else if (r.type != RopeScaling::Type::None) {
    if (!(r.factor >= 1.f) || !std::isfinite(r.factor))
      fail(where, "rope_scaling factor must be at least 1, got {}", r.factor);
    if (r.type == RopeScaling::Type::Llama3 &&
        (!(r.low_freq_factor > 0.f) || !(r.high_freq_factor > r.low_freq_factor) || !std::isfinite(r.high_freq_factor) ||
         r.original_context <= 0))
      fail(where, "rope_scaling (llama3) needs 0 < low_freq_factor < high_freq_factor and a positive "
           "original_max_position_embeddings, got {}, {}, {}", r.low_freq_factor, r.high_freq_factor, r.original_context);
  }
}

std::vector<float> rope_inv_freq(const LlamaConfig& c) {
  const int hs = c.head_size();
  std::vector<float> out(size_t(hs / 2));
  const RopeScaling& r = c.rope_scaling;
  for (int j = 0; j < hs / 2; ++j) {
    // The unscaled frequency exactly as llama2.c's run.c computes it (the golden outputs depend on it).
    float f = 1.0f / std::pow(c.rope_theta, float(2 * j) / float(hs));
    if (r.type == RopeScaling::Type::Linear) f /= r.factor;
    if (r.type == RopeScaling::Type::FreqFactors) f /= r.freq_factors[size_t(j)];  // llama.cpp's theta / ff
    if (r.type == RopeScaling::Type::Llama3) {
      // transformers' _compute_llama3_parameters: long wavelengths slowed by `factor`, short ones
      // kept, the band between blended by how many wavelengths fit the original context.
      const double pi = 3.14159265358979323846;
      const double wavelen = 2 * pi / f, ctx = r.original_context;
      const double low_wavelen = ctx / r.low_freq_factor, high_wavelen = ctx / r.high_freq_factor;
      if (wavelen > low_wavelen) {
        f = float(f / r.factor);
      } else if (wavelen >= high_wavelen) {
        const double smooth = (ctx / wavelen - r.low_freq_factor) / (r.high_freq_factor - r.low_freq_factor);
        f = float((1 - smooth) * f / r.factor + smooth * f);
      }
    }
    out[size_t(j)] = f;
  }
  return out;
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
std::string bq(int i) { return layer(i, "self_attn.q_proj.bias"); }
std::string bk(int i) { return layer(i, "self_attn.k_proj.bias"); }
std::string bv(int i) { return layer(i, "self_attn.v_proj.bias"); }
std::string q_norm(int i) { return layer(i, "self_attn.q_norm.weight"); }
std::string k_norm(int i) { return layer(i, "self_attn.k_norm.weight"); }
}  // namespace names

std::vector<LayerVectorSpec> layer_vector_specs(const LlamaConfig& c) {
  std::vector<LayerVectorSpec> v = {{names::attn_norm, c.dim}, {names::ffn_norm, c.dim}};
  if (c.qkv_bias) v.insert(v.end(), {{names::bq, c.q_dim()}, {names::bk, c.kv_dim()}, {names::bv, c.kv_dim()}});
  if (c.qk_norm) v.insert(v.end(), {{names::q_norm, c.head_size()}, {names::k_norm, c.head_size()}});
  return v;
}

std::vector<TensorSpec> llama_tensor_specs(const LlamaConfig& c) {
  const int64_t dim = c.dim, hid = c.hidden_dim, q = c.q_dim(), kv = c.kv_dim(), V = c.vocab_size;
  std::vector<TensorSpec> specs = {{names::embedding(), {V, dim}, false}, {names::final_norm(), {dim}, false}};
  if (!c.tied_classifier) specs.push_back({names::classifier(), {V, dim}, false});
  for (int l = 0; l < c.n_layers; ++l) {
    for (const auto& v : layer_vector_specs(c)) specs.push_back({v.name(l), {v.length}, false});
    specs.push_back({names::wq(l), {q, dim}, true});
    specs.push_back({names::wk(l), {kv, dim}, true});
    specs.push_back({names::wv(l), {kv, dim}, true});
    specs.push_back({names::wo(l), {dim, q}, true});
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
