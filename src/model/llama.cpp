#include "mixq/model/llama.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

#include "mixq/core/error.hpp"
#include "mixq/core/memory.hpp"
#include "mixq/kernels/attention.hpp"
#include "mixq/model/packed_linear.hpp"
#include "mixq/model/stored_linear.hpp"

namespace mixq::model {
namespace {

// run.c's rmsnorm: o = w * (x / sqrt(mean(x²) + eps)), in the same operation order.
void rmsnorm(float* o, const float* x, const float* w, int size, float eps) {
  float ss = 0.f;
  for (int j = 0; j < size; ++j) ss += x[j] * x[j];
  ss = 1.f / std::sqrt(ss / float(size) + eps);
  for (int j = 0; j < size; ++j) o[j] = w[j] * (ss * x[j]);
}

// RoPE on adjacent pairs (i, i+1) of each head, as llama2.c (HF checkpoints are un-permuted at load).
void rope(float* vec, int size, int head_size, int pos, const float* inv_freq) {
  for (int i = 0; i < size; i += 2) {
    const float val = float(pos) * inv_freq[(i % head_size) / 2];
    const float fcr = std::cos(val), fci = std::sin(val);
    const float v0 = vec[i], v1 = vec[i + 1];
    vec[i] = v0 * fcr - v1 * fci;
    vec[i + 1] = v0 * fci + v1 * fcr;
  }
}

// x[t][i] += bias[i] for each of n rows.
void add_bias(float* x, const std::vector<float>& bias, size_t n) {
  for (size_t t = 0; t < n; ++t)
    for (size_t i = 0; i < bias.size(); ++i) x[t * bias.size() + i] += bias[i];
}



}  // namespace

KvCache::KvCache(const LlamaConfig& c, int cap, bool one)
    : capacity(cap), single_layer(one), layer_stride(size_t(cap) * size_t(c.kv_dim())) {
  const int layers = one ? 1 : c.n_layers;
  const size_t floats = size_t(layers) * layer_stride;
  require_memory(2 * floats * sizeof(float), fmt::format("the KV cache ({} positions × {} layers)", cap, layers), "forward");
  k.resize(floats);
  v.resize(floats);
}

LlamaModel::LlamaModel(LlamaConfig config, LlamaWeights weights, int threads)
    : config_(config),
      weights_(std::move(weights)),
      rope_inv_freq_(io::rope_inv_freq(config_)),
      pool_(std::make_unique<ThreadPool>(threads)) {}

std::vector<VectorSlot> vector_slots(const LlamaConfig& c) {
  static const std::pair<std::string (*)(int), std::vector<float> LayerWeights::*> members[] = {
      {io::names::attn_norm, &LayerWeights::attn_norm}, {io::names::ffn_norm, &LayerWeights::ffn_norm},
      {io::names::bq, &LayerWeights::bq},               {io::names::bk, &LayerWeights::bk},
      {io::names::bv, &LayerWeights::bv},               {io::names::q_norm, &LayerWeights::q_norm},
      {io::names::k_norm, &LayerWeights::k_norm},
  };
  std::vector<VectorSlot> out;
  for (const io::LayerVectorSpec& spec : io::layer_vector_specs(c))
    for (const auto& [name, member] : members)
      if (name == spec.name) out.push_back({spec, member});
  return out;
}

size_t site_width(const LlamaConfig& c, LinearSite site) {
  if (site == LinearSite::AttnOut) return size_t(c.q_dim());
  return size_t(site == LinearSite::MlpMid ? c.hidden_dim : c.dim);
}

std::span<const LinearSlot> linear_slots() {
  static const LinearSlot slots[] = {
      {"q", LinearSite::AttnIn, &LayerWeights::wq, io::names::wq, 0},
      {"k", LinearSite::AttnIn, &LayerWeights::wk, io::names::wk, 0},
      {"v", LinearSite::AttnIn, &LayerWeights::wv, io::names::wv, 0},
      {"o", LinearSite::AttnOut, &LayerWeights::wo, io::names::wo, 1},
      {"gate", LinearSite::MlpIn, &LayerWeights::w1, io::names::w1, 2},
      {"up", LinearSite::MlpIn, &LayerWeights::w3, io::names::w3, 2},
      {"down", LinearSite::MlpMid, &LayerWeights::w2, io::names::w2, 3},
  };
  return slots;
}

LlamaModel LlamaModel::from_checkpoint(io::Checkpoint& ck, int threads, const LinearFactory& make_linear) {
  io::validate_llama_tensors(ck);
  const LlamaConfig c = ck.config;
  LlamaModel m = assemble(
      c, [&](const std::string& name) { return io::StoredTensor::from_f32(ck.source, name, std::move(ck.at(name))); },
      [&](const std::string& name) -> std::unique_ptr<Linear> {
        if (make_linear && name != io::names::classifier()) return make_linear(name, std::move(ck.at(name)));
        return std::make_unique<DenseLinear>(std::move(ck.at(name)));
      },
      threads);
  ck.tensors.clear();
  return m;
}

LlamaModel LlamaModel::from_stored(const io::StoredCheckpoint& ck, int threads) {
  io::validate_llama_shapes(ck, false);
  return assemble(
      ck.config, [&](const std::string& name) { return ck.at(name); },
      [&](const std::string& name) -> std::unique_ptr<Linear> { return std::make_unique<StoredLinear>(ck.at(name)); },
      threads);
}

LlamaModel LlamaModel::assemble(const LlamaConfig& c, const DenseSource& dense, const LinearSource& linear,
                                int threads) {
  auto checked = [&](const std::string& name, int64_t rows, int64_t cols) {
    std::unique_ptr<Linear> lin = linear(name);
    if (int64_t(lin->rows()) != rows || int64_t(lin->cols()) != cols)
      fail(name, "linear layer is [{}, {}], the model needs [{}, {}]", lin->rows(), lin->cols(), rows, cols);
    return lin;
  };
  const int64_t dim = c.dim, hid = c.hidden_dim, q = c.q_dim(), kv = c.kv_dim();
  LlamaWeights w;
  for (int l = 0; l < c.n_layers; ++l) {
    LayerWeights lw;
    for (const VectorSlot& v : vector_slots(c)) {
      lw.*v.member = dense(v.spec.name(l)).to_f32().data;
      if (int64_t((lw.*v.member).size()) != v.spec.length)
        fail(v.spec.name(l), "vector has {} values, the model needs {}", (lw.*v.member).size(), v.spec.length);
    }
    lw.wq = checked(io::names::wq(l), q, dim);
    lw.wk = checked(io::names::wk(l), kv, dim);
    lw.wv = checked(io::names::wv(l), kv, dim);
    lw.wo = checked(io::names::wo(l), dim, q);
    lw.w1 = checked(io::names::w1(l), hid, dim);
    lw.w2 = checked(io::names::w2(l), dim, hid);
    lw.w3 = checked(io::names::w3(l), hid, dim);
    w.layers.push_back(std::move(lw));
  }
  w.final_norm = dense(io::names::final_norm()).to_f32().data;
  w.embedding = dense(io::names::embedding());
  w.classifier = c.tied_classifier ? std::make_unique<StoredLinear>(w.embedding) : checked(io::names::classifier(), c.vocab_size, dim);
  return LlamaModel(c, std::move(w), threads);
}

void LlamaModel::replace_classifier(std::unique_ptr<Linear> classifier) {
  if (int64_t(classifier->rows()) != config_.vocab_size || int64_t(classifier->cols()) != config_.dim)
    fail(io::names::classifier(), "classifier is [{}, {}], the model needs [{}, {}]", classifier->rows(), classifier->cols(),
         config_.vocab_size, config_.dim);
  weights_.classifier = std::move(classifier);
  config_.tied_classifier = false;
}

size_t LlamaModel::bytes_per_token() const {
  size_t b = weights_.classifier->bytes_per_token();
  for (const auto& l : weights_.layers)
    for (const Linear* lin : {l.wq.get(), l.wk.get(), l.wv.get(), l.wo.get(), l.w1.get(), l.w2.get(), l.w3.get()})
      b += lin->bytes_per_token();
  return b;
}

void LlamaModel::ensure_scratch(size_t n) {
  if (n <= scratch_tokens_) return;
  const auto& c = config_;
  x_.resize(n * size_t(c.dim));
  xb_.resize(n * size_t(c.dim));
  q_.resize(n * size_t(c.q_dim()));
  k_.resize(n * size_t(c.kv_dim()));
  v_.resize(n * size_t(c.kv_dim()));
  att_out_.resize(n * size_t(c.q_dim()));
  h1_.resize(n * size_t(c.hidden_dim));
  h3_.resize(n * size_t(c.hidden_dim));
  scratch_tokens_ = n;
}

// Causal attention of the n new tokens (positions pos..pos+n-1) over the cache
// (kernels/attention.hpp); with a sliding window, position p sees (p - window, p].
void LlamaModel::attention(int layer, size_t n, int pos, KvCache& cache) {
  kernels::LayerAttention a;
  a.q = q_.data();
  a.k = cache.k.data() + cache.offset(layer);
  a.v = cache.v.data() + cache.offset(layer);
  a.out = att_out_.data();
  a.n_heads = config_.n_heads;
  a.n_kv_heads = config_.n_kv_heads;
  a.head_size = config_.head_size();
  a.pos = pos;
  a.window = config_.sliding_window;
  kernels::attend_layer(a, n, *pool_);
}

void LlamaModel::embed(std::span<const int> tokens, float* x) const {
  const auto& c = config_;
  const size_t dim = size_t(c.dim);
  for (size_t t = 0; t < tokens.size(); ++t) {
    const int tok = tokens[t];
    if (tok < 0 || tok >= c.vocab_size) fail("forward", "token id {} outside vocabulary of {}", tok, c.vocab_size);
    weights_.embedding.rows_f32(tok, tok + 1, x + t * dim);
  }
}

namespace {

// An overflow (weights or activations beyond fp32) must stop the run, naming where it happened,
// rather than print ppl nan or <unk>s. One pass over the layer's output, negligible beside its GEMMs.
void check_finite(const float* x, size_t n, size_t width, int pos, const std::string& where) {
  float any = 0.f;  // stays finite only if every x is: a NaN or inf makes x * 0 a NaN
  for (size_t i = 0; i < n * width; ++i) any += x[i] * 0.f;
  if (any == 0.f) return;
  for (size_t i = 0; i < n * width; ++i)
    if (!std::isfinite(x[i]))
      fail("forward", "{} produced a non-finite value ({}) at position {}: the model's weights or activations "
           "overflow fp32", where, x[i], pos + int(i / width));
}

}  // namespace

void LlamaModel::forward_layer(int l, float* x, size_t n, int pos, KvCache& cache, const CaptureFn& capture) {
  const auto& c = config_;
  if (pos < 0 || pos + int(n) > cache.capacity)
    fail("forward", "positions [{}, {}) exceed the KV cache capacity {}", pos, pos + int(n), cache.capacity);
  ensure_scratch(n);
  const size_t dim = size_t(c.dim), kv_dim = size_t(c.kv_dim()), hid = size_t(c.hidden_dim);
  ThreadPool& pool = *pool_;
  const LayerWeights& L = weights_.layers[size_t(l)];
  auto captured = [&](LinearSite site, const float* in, size_t width) {
    if (capture) capture(site, in, n, width);
  };
  for (size_t t = 0; t < n; ++t) rmsnorm(&xb_[t * dim], &x[t * dim], L.attn_norm.data(), c.dim, c.rms_norm_eps);
  captured(LinearSite::AttnIn, xb_.data(), dim);
  forward_shared_input(std::array<const Linear*, 3>{L.wq.get(), L.wk.get(), L.wv.get()}, xb_.data(), n,
                       std::array<float*, 3>{q_.data(), k_.data(), v_.data()}, pool);
  const size_t q_dim = size_t(c.q_dim());
  const int hs = c.head_size();
  if (c.qkv_bias) {
    add_bias(q_.data(), L.bq, n);
    add_bias(k_.data(), L.bk, n);
    add_bias(v_.data(), L.bv, n);
  }
  if (c.qk_norm) {
    for (size_t i = 0; i < n * q_dim; i += size_t(hs)) rmsnorm(&q_[i], &q_[i], L.q_norm.data(), hs, c.rms_norm_eps);
    for (size_t i = 0; i < n * kv_dim; i += size_t(hs)) rmsnorm(&k_[i], &k_[i], L.k_norm.data(), hs, c.rms_norm_eps);
  }
  float* kc = cache.k.data() + cache.offset(l);
  float* vc = cache.v.data() + cache.offset(l);
  for (size_t t = 0; t < n; ++t) {
    const int p = pos + int(t);
    rope(&q_[t * q_dim], c.q_dim(), hs, p, rope_inv_freq_.data());
    rope(&k_[t * kv_dim], c.kv_dim(), hs, p, rope_inv_freq_.data());
    std::memcpy(kc + size_t(p) * kv_dim, &k_[t * kv_dim], kv_dim * sizeof(float));
    std::memcpy(vc + size_t(p) * kv_dim, &v_[t * kv_dim], kv_dim * sizeof(float));
  }
  attention(l, n, pos, cache);
  captured(LinearSite::AttnOut, att_out_.data(), q_dim);
  L.wo->forward(att_out_.data(), n, xb_.data(), pool);
  for (size_t i = 0; i < n * dim; ++i) x[i] += xb_[i];

  for (size_t t = 0; t < n; ++t) rmsnorm(&xb_[t * dim], &x[t * dim], L.ffn_norm.data(), c.dim, c.rms_norm_eps);
  captured(LinearSite::MlpIn, xb_.data(), dim);
  forward_shared_input(std::array<const Linear*, 2>{L.w1.get(), L.w3.get()}, xb_.data(), n,
                       std::array<float*, 2>{h1_.data(), h3_.data()}, pool);
  for (size_t i = 0; i < n * hid; ++i) {
    float v = h1_[i];
    v *= 1.0f / (1.0f + std::exp(-v));  // SiLU
    h1_[i] = v * h3_[i];
  }
  captured(LinearSite::MlpMid, h1_.data(), hid);
  L.w2->forward(h1_.data(), n, xb_.data(), pool);
  for (size_t i = 0; i < n * dim; ++i) x[i] += xb_[i];
  check_finite(x, n, dim, pos, fmt::format("decoder layer {}", l));
}

void LlamaModel::forward(std::span<const int> tokens, int pos, KvCache& cache, float* logits, bool all_logits) {
  const auto& c = config_;
  const size_t n = tokens.size();
  if (n == 0) return;
  ensure_scratch(n);
  const size_t dim = size_t(c.dim);
  embed(tokens, x_.data());
  for (int l = 0; l < c.n_layers; ++l) forward_layer(l, x_.data(), n, pos, cache);
  const size_t first = all_logits ? 0 : n - 1;
  for (size_t t = first; t < n; ++t) rmsnorm(&x_[t * dim], &x_[t * dim], weights_.final_norm.data(), c.dim, c.rms_norm_eps);
  weights_.classifier->forward(&x_[first * dim], n - first, logits, *pool_);
  check_finite(logits, n - first, size_t(c.vocab_size), pos + int(first), "the classifier (logits)");
}

}  // namespace mixq::model
