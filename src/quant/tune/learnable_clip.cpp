// Learnable weight clipping over mixed-width groups (learnable_clip.hpp).
#include "mixq/quant/tune/learnable_clip.hpp"

#include <algorithm>
#include <cmath>

#include "mixq/core/error.hpp"
#include "mixq/core/half.hpp"

namespace mixq::quant {
namespace {

constexpr float kMinScale = 1e-5f, kMaxScale = 1e4f, kMaxZero = 1e4f;

float sigmoid(float v) { return 1.0f / (1.0f + std::exp(-v)); }
float to_f16(float v) { return f16_to_f32(f32_to_f16(v)); }

}  // namespace

LearnableClip::LearnableClip(const Tensor& w, std::vector<int> widths, int64_t group, float init, float init_binary,
                             bool fp16_scales)
    : rows_(w.rows()), cols_(w.cols()), group_(group), fp16_(fp16_scales), widths_(std::move(widths)), w_(w) {
  if (group_ <= 0 || int64_t(widths_.size()) != (cols_ + group_ - 1) / group_)
    fail("learnable clipping", "{} widths for {} columns in groups of {}", widths_.size(), cols_, group_);
  for (int b : widths_)
    if (b < 1 || b > 8) fail("learnable clipping", "group width {} outside 1…8", b);
  const size_t n = size_t(rows_ * groups());
  max_.resize(n), min_.resize(n), mean_.resize(n), abs_mean_.resize(n);
  params_.assign(2 * n, init);
  for (int64_t r = 0; r < rows_; ++r)
    for (int64_t g = 0; g < groups(); ++g) {
      const float* v = &w_.data[size_t(r * cols_ + g * group_)];
      const int64_t len = std::min(group_, cols_ - g * group_);
      double sum = 0, abs_sum = 0;
      float mx = v[0], mn = v[0];
      for (int64_t i = 0; i < len; ++i) {
        mx = std::max(mx, v[i]), mn = std::min(mn, v[i]);
        sum += v[i], abs_sum += std::fabs(v[i]);
      }
      const size_t k = at(r, g);
      max_[k] = mx, min_[k] = mn;
      mean_[k] = float(sum / double(len)), abs_mean_[k] = float(abs_sum / double(len));
      if (widths_[size_t(g)] == 1) params_[k] = init_binary;
    }
}

LearnableClip::Grid LearnableClip::grid(int64_t row, int64_t g) const {
  const size_t k = at(row, g), n = size_t(rows_ * groups());
  const int bits = widths_[size_t(g)];
  const float sg = sigmoid(params_[k]);
  if (bits == 1) {
    const float alpha = abs_mean_[k] * (sg + 0.5f);
    return {1, fp16_ ? to_f16(alpha) : alpha, fp16_ ? to_f16(mean_[k]) : mean_[k], abs_mean_[k] * sg * (1 - sg), 0.f};
  }
  const float sb = sigmoid(params_[n + k]);
  const float qmax = float((1 << bits) - 1);
  const float raw = (sg * max_[k] - sb * min_[k]) / qmax;
  const bool clamped = !(raw > kMinScale && raw < kMaxScale);
  float scale = std::clamp(raw, kMinScale, kMaxScale);
  if (fp16_) scale = to_f16(scale);
  float zero = std::clamp(std::nearbyint(-sb * min_[k] / scale), -kMaxZero, kMaxZero);
  if (fp16_) zero = to_f16(zero);
  if (clamped) return {bits, scale, zero, 0.f, 0.f};
  return {bits, scale, zero, sg * (1 - sg) * max_[k] / qmax, -sb * (1 - sb) * min_[k] / qmax};
}

void LearnableClip::fake_quantize(float* w_hat) const {
  for (int64_t r = 0; r < rows_; ++r)
    for (int64_t g = 0; g < groups(); ++g) {
      const Grid q = grid(r, g);
      const int64_t b = g * group_, e = std::min(cols_, b + group_);
      const float* v = &w_.data[size_t(r * cols_)];
      float* o = w_hat + r * cols_;
      if (q.bits == 1) {
        for (int64_t i = b; i < e; ++i) o[i] = q.zero + (v[i] >= q.zero ? q.scale : -q.scale);
        continue;
      }
      const float qmax = float((1 << q.bits) - 1);
      for (int64_t i = b; i < e; ++i) o[i] = q.scale * (std::clamp(std::nearbyint(v[i] / q.scale) + q.zero, 0.f, qmax) - q.zero);
    }
}

void LearnableClip::backward(const float* d_w_hat, float* d_params) const {
  const size_t n = size_t(rows_ * groups());
  for (int64_t r = 0; r < rows_; ++r)
    for (int64_t g = 0; g < groups(); ++g) {
      const Grid q = grid(r, g);
      const int64_t b = g * group_, e = std::min(cols_, b + group_);
      const float* v = &w_.data[size_t(r * cols_)];
      const float* d = d_w_hat + r * cols_;
      double d_scale = 0;  // dL/dscale = Σ dL/dŵ_i · dŵ_i/dscale
      if (q.bits == 1) {
        for (int64_t i = b; i < e; ++i) d_scale += double(d[i]) * (v[i] >= q.zero ? 1.0 : -1.0);
      } else {
        const float qmax = float((1 << q.bits) - 1);
        for (int64_t i = b; i < e; ++i) {
          const float u = v[i] / q.scale, code = std::nearbyint(u) + q.zero;
          const float slope = code < 0.f ? -q.zero : code > qmax ? qmax - q.zero : std::nearbyint(u) - u;
          d_scale += double(d[i]) * slope;
        }
      }
      const size_t k = at(r, g);
      d_params[k] = float(d_scale) * q.dscale_dgamma;
      d_params[n + k] = float(d_scale) * q.dscale_dbeta;
    }
}

float LearnableClip::frozen_rounding(int64_t row, int64_t col) const {
  const Grid q = grid(row, col / group_);
  const float u = w_.data[size_t(row * cols_ + col)] / q.scale;
  return std::nearbyint(u) - u;
}

float LearnableClip::surrogate(int64_t row, int64_t col, float frozen) const {
  const Grid q = grid(row, col / group_);
  const float v = w_.data[size_t(row * cols_ + col)];
  if (q.bits == 1) return q.zero + (v >= q.zero ? q.scale : -q.scale);
  const float qmax = float((1 << q.bits) - 1);
  // Clamped only when the code is outside the grid, as backward (and torch's clamp, whose gradient
  // passes at the bounds themselves) has it: a code at 0 or 2^b − 1 still follows the scale.
  const float code = std::nearbyint(v / q.scale + frozen) + q.zero;
  if (code < 0.f || code > qmax) return q.scale * (std::clamp(code, 0.f, qmax) - q.zero);
  return q.scale * (v / q.scale + frozen);
}

void LearnableClip::quantized(std::vector<uint8_t>& codes, std::vector<float>& scales, std::vector<float>& zeros) const {
  const size_t n = size_t(rows_ * groups());
  codes.assign(size_t(rows_ * cols_), 0), scales.assign(n, 0.f), zeros.assign(n, 0.f);
  for (int64_t r = 0; r < rows_; ++r)
    for (int64_t g = 0; g < groups(); ++g) {
      const Grid q = grid(r, g);
      scales[at(r, g)] = q.scale, zeros[at(r, g)] = q.zero;
      const int64_t b = g * group_, e = std::min(cols_, b + group_);
      const float qmax = float((1 << q.bits) - 1);
      for (int64_t i = b; i < e; ++i) {
        const float v = w_.data[size_t(r * cols_ + i)];
        codes[size_t(r * cols_ + i)] = q.bits == 1 ? uint8_t(v >= q.zero)
                                                   : uint8_t(std::clamp(std::nearbyint(v / q.scale) + q.zero, 0.f, qmax));
      }
    }
}

formats::PackedTensor LearnableClip::bake_slim(const formats::SlimParams& p) const {
  if (p.group != group_) fail("learnable clipping", "group {} baked as slim group {}", group_, p.group);
  std::vector<uint8_t> codes;
  std::vector<float> scales, zeros;
  quantized(codes, scales, zeros);
  return formats::SlimFormat::pack(rows_, cols_, widths_, codes, scales, zeros, p);
}

formats::PackedTensor LearnableClip::bake_uniform(const formats::UniformParams& p) const {
  if (p.symmetric) fail("learnable clipping", "trains an asymmetric grid; a symmetric uniform format cannot store it");
  if (p.group_size(cols_) != group_) fail("learnable clipping", "group {} baked as uniform group {}", group_, p.group_size(cols_));
  for (int b : widths_)
    if (b != p.bits) fail("learnable clipping", "a {}-bit group baked as uniform {}-bit", b, p.bits);
  std::vector<uint8_t> codes;
  std::vector<float> scales, zeros;
  quantized(codes, scales, zeros);
  return formats::UniformFormat::pack(rows_, cols_, codes, scales, zeros, p);
}

std::vector<formats::GridQuantizer> LearnableClip::grids() const {
  std::vector<formats::GridQuantizer> out(size_t(rows_ * groups()));
  for (int64_t r = 0; r < rows_; ++r)
    for (int64_t g = 0; g < groups(); ++g) {
      const Grid q = grid(r, g);
      if (q.bits < 2) fail("learnable clipping", "a {}-bit group has no min-max grid", q.bits);
      out[at(r, g)] = {q.scale, q.zero, (1 << q.bits) - 1};
    }
  return out;
}

}  // namespace mixq::quant
