#pragma once
// FineQ's step Δ made trainable (fineq-rtn+, fineq-gptq+; docs/DESIGN.md "fineq-rtn+ and
// fineq-gptq+"): per (row, group) Δ = Δ₀·2σ(γ), γ starting at 0 (Δ₀: the first result's searched
// step), rounded to fp16 as stored. At each Δ every cluster's mode is chosen by the format's rule
// and frozen for the step; kept weights are ŵ = h·Δ/2 with h on the mode's grid, pruned ones 0.
// Gradients follow the straight-through estimator, as LWC's: the rounding passes the gradient in
// 2w/Δ (dŵ/dΔ = (h − 2w/Δ)/2), a clamped code is a constant number of steps (dŵ/dΔ = h/2), a
// pruned weight has none.
#include <cstdint>
#include <span>
#include <vector>

#include "mixq/core/tensor.hpp"
#include "mixq/formats/fineq.hpp"
#include "mixq/formats/packed_tensor.hpp"
#include "mixq/quant/tune/trainable_quantizer.hpp"

namespace mixq::quant {

class LearnableStep final : public TrainableQuantizer {
 public:
  // w [rows][cols]; steps Δ₀ [rows][groups] of format p's groups. fp16_steps: Δ rounded to fp16
  // as stored (off only for finite-difference tests).
  LearnableStep(const Tensor& w, const formats::FineqParams& p, std::vector<float> steps, bool fp16_steps = true);

  int64_t rows() const override { return rows_; }
  int64_t cols() const override { return cols_; }
  std::span<float> params() override { return params_; }
  std::span<const float> params() const override { return params_; }
  void fake_quantize(float* w_hat) const override;
  void backward(const float* d_w_hat, float* d_params) const override;

  // The trained steps [rows][groups] as stored (fp16-representable).
  std::vector<float> steps() const;
  // The fineq tensor of fake_quantize's ŵ.
  formats::PackedTensor bake() const;
  const Tensor& weights() const { return w_; }

  // For tests of backward: each weight's half-steps h, kept (not pruned) and clamped flags at the
  // current parameters ([rows][cols]); the straight-through surrogate of ŵ at step Δ with them held
  // is kept ? (clamped ? h·Δ/2 : w + (h − 2w/Δ₀)·Δ/2) : 0, Δ₀ the step they were taken at.
  struct Frozen {
    std::vector<int> h;
    std::vector<uint8_t> kept, clamped;
  };
  Frozen freeze() const;
  float step_of(int64_t row, int64_t col) const { return step(row, col / p_.group_size(cols_)); }
  const formats::FineqParams& format() const { return p_; }

 private:
  float step(int64_t row, int64_t g) const;
  // Each weight's half-steps h, whether it is kept (not pruned) and whether its code is clamped, in
  // cluster c of row r at step Δ.
  void encode_cluster(int64_t r, int64_t c, float delta, int h[3], bool kept[3], bool clamped[3]) const;
  int64_t groups() const { return p_.groups(cols_); }

  int64_t rows_, cols_, padded_;
  formats::FineqParams p_;
  formats::FineqGrids grids_;
  bool fp16_;
  Tensor w_;
  std::vector<float> padded_w_;   // [rows][padded_]
  std::vector<float> base_;       // Δ₀ per (row, group)
  std::vector<float> params_;     // γ per (row, group)
  // fake_quantize's encoding, reused by backward while the parameters are those it was made at
  // (the block's training calls them in that order): choosing the modes is most of the work.
  mutable Frozen cache_;
  mutable std::vector<float> cache_params_;
};

}  // namespace mixq::quant
