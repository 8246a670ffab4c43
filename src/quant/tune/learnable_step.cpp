// FineQ's trainable step (learnable_step.hpp).
#include "mixq/quant/tune/learnable_step.hpp"

#include <algorithm>
#include <cmath>

#include "mixq/core/error.hpp"
#include "mixq/core/half.hpp"
#include "mixq/quant/methods/fineq.hpp"

namespace mixq::quant {
namespace {

float sigmoid(float v) { return 1.0f / (1.0f + std::exp(-v)); }

}  // namespace

LearnableStep::LearnableStep(const Tensor& w, const formats::FineqParams& p, std::vector<float> steps, bool fp16_steps)
    : rows_(w.rows()), cols_(w.cols()), padded_(p.padded_cols(w.cols())), p_(p), grids_(p), fp16_(fp16_steps), w_(w),
      base_(std::move(steps)) {
  p_.validate();
  if (int64_t(base_.size()) != rows_ * groups())
    fail("learnable step", "{} steps for {} rows × {} groups", base_.size(), rows_, groups());
  for (float d : base_)
    if (!std::isfinite(d) || d < 0) fail("learnable step", "a starting step must be finite and ≥ 0, got {}", d);
  padded_w_.assign(size_t(rows_ * padded_), 0.f);
  for (int64_t r = 0; r < rows_; ++r) std::copy_n(&w_.data[size_t(r * cols_)], cols_, &padded_w_[size_t(r * padded_)]);
  params_.assign(base_.size(), 0.f);
}

float LearnableStep::step(int64_t row, int64_t g) const {
  const size_t k = size_t(row * groups() + g);
  const float d = base_[k] * 2.f * sigmoid(params_[k]);
  return fp16_ ? f16_to_f32(f32_to_f16(d)) : d;
}

std::vector<float> LearnableStep::steps() const {
  std::vector<float> out(base_.size());
  for (int64_t r = 0; r < rows_; ++r)
    for (int64_t g = 0; g < groups(); ++g) out[size_t(r * groups() + g)] = step(r, g);
  return out;
}

void LearnableStep::encode_cluster(int64_t r, int64_t c, float delta, int h[3], bool kept[3], bool clamped[3]) const {
  const float* v = &padded_w_[size_t(r * padded_ + 3 * c)];
  const int mode = fineq_cluster_mode(v, delta, p_, grids_, nullptr);
  const formats::FineqCodes codes = formats::fineq_codes(formats::fineq_encode(v, delta, mode, grids_));
  const float inv = delta > 0 ? 2.f / delta : 0.f;
  for (int i = 0; i < 3; ++i) {
    const bool pruned = codes.mode == i;
    kept[i] = !pruned;
    const int unit = codes.mode < 0 ? grids_.int2_unit : grids_.int3_unit;
    h[i] = pruned ? 0 : codes.mode < 0 ? unit * codes.q[size_t(i)] + grids_.int2_offset : unit * codes.q[size_t(i)];
    // Rounding leaves at most half a grid unit; more means the code was clamped at the grid's end.
    clamped[i] = !pruned && std::fabs(v[i] * inv - float(h[i])) > 0.5f * float(unit) + 1e-4f;
  }
}

void LearnableStep::fake_quantize(float* w_hat) const {
  cache_ = freeze();
  cache_params_ = params_;
  for (int64_t r = 0; r < rows_; ++r)
    for (int64_t j = 0; j < cols_; ++j) w_hat[r * cols_ + j] = float(cache_.h[size_t(r * cols_ + j)]) * step_of(r, j) / 2;
}

void LearnableStep::backward(const float* d_w_hat, float* d_params) const {
  const int64_t gs = p_.group_size(cols_);
  if (cache_params_ != params_) cache_ = freeze(), cache_params_ = params_;
  const Frozen& f = cache_;
  std::vector<double> d_step(params_.size(), 0.0);
  for (int64_t r = 0; r < rows_; ++r)
    for (int64_t col = 0; col < cols_; ++col) {
      const size_t k = size_t(r * cols_ + col);
      const int64_t g = col / gs;
      const float delta = step(r, g);
      if (delta <= 0 || !f.kept[k]) continue;
      const float slope = f.clamped[k] ? float(f.h[k]) / 2 : (float(f.h[k]) - 2 * w_.data[k] / delta) / 2;
      d_step[size_t(r * groups() + g)] += double(d_w_hat[k]) * slope;
    }
  for (size_t k = 0; k < params_.size(); ++k) {
    const float s = sigmoid(params_[k]);
    d_params[k] = float(d_step[k]) * 2.f * base_[k] * s * (1 - s);
  }
}

LearnableStep::Frozen LearnableStep::freeze() const {
  const int64_t gs = p_.group_size(cols_);
  Frozen f{std::vector<int>(size_t(rows_ * cols_)), std::vector<uint8_t>(size_t(rows_ * cols_)),
           std::vector<uint8_t>(size_t(rows_ * cols_))};
  for (int64_t r = 0; r < rows_; ++r)
    for (int64_t c = 0; c < padded_ / 3; ++c) {
      int h[3];
      bool kept[3], clamped[3];
      encode_cluster(r, c, step(r, 3 * c / gs), h, kept, clamped);
      for (int i = 0; i < 3 && 3 * c + i < cols_; ++i) {
        const size_t k = size_t(r * cols_ + 3 * c + i);
        f.h[k] = h[i], f.kept[k] = kept[i], f.clamped[k] = clamped[i];
      }
    }
  return f;
}

formats::PackedTensor LearnableStep::bake() const {
  const int64_t gs = p_.group_size(cols_);
  std::vector<uint8_t> bytes(size_t(rows_ * padded_ / 3));
  for (int64_t r = 0; r < rows_; ++r)
    for (int64_t c = 0; c < padded_ / 3; ++c) {
      const float delta = step(r, 3 * c / gs);
      const float* v = &padded_w_[size_t(r * padded_ + 3 * c)];
      bytes[size_t(r * padded_ / 3 + c)] = formats::fineq_encode(v, delta, fineq_cluster_mode(v, delta, p_, grids_, nullptr), grids_);
    }
  return formats::FineqFormat::pack(rows_, cols_, bytes, steps(), p_);
}

}  // namespace mixq::quant
