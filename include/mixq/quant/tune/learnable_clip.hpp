#pragma once
// Learnable weight clipping (OmniQuant's LWC, as SliM-LLM+ uses it; ../shared/specs/slim-llm.md
// §3.4) over a linear's groups of G input columns, each group with its own width:
//   b ≥ 2: xmax = σ(γ)·max w, xmin = σ(β)·min w over the (row, group); scale = (xmax − xmin)/(2^b − 1)
//          clamped to [1e-5, 1e4] and rounded to fp16 (as stored); zero = round(−xmin/scale);
//          ŵ = scale·(clamp(round(w/scale) + zero, 0, 2^b − 1) − zero).
//   b = 1: ŵ = μ + α·sign(w − μ), μ the group mean, α = mean|w|·(σ(γ) + 0.5) (the published
//          parameterization; mixq's slim format keeps μ, see formats/slim.hpp).
// Gradients follow the straight-through estimator: round passes the gradient through in w/scale
// and blocks it in the zero point (OmniQuant's round_ste / round), clamps block it outside their
// range. The parameters are stored as [γ for every (row, group)] then [β for every (row, group)].
#include <cstdint>
#include <span>
#include <vector>

#include "mixq/core/tensor.hpp"
#include "mixq/formats/grid_quantizer.hpp"
#include "mixq/formats/packed_tensor.hpp"
#include "mixq/formats/slim.hpp"
#include "mixq/formats/uniform.hpp"
#include "mixq/quant/tune/trainable_quantizer.hpp"

namespace mixq::quant {

class LearnableClip final : public TrainableQuantizer {
 public:
  // w [rows][cols]; widths[g] ∈ 1…8 for each group of `group` columns; every logit starts at
  // `init` (γ of 1-bit groups at `init_binary`). fp16_scales: scales and means rounded to fp16 as
  // the format stores them (off only for finite-difference tests, where the rounding's steps
  // would hide the slope the straight-through estimator passes on).
  LearnableClip(const Tensor& w, std::vector<int> widths, int64_t group, float init, float init_binary,
                bool fp16_scales = true);

  int64_t rows() const override { return rows_; }
  int64_t cols() const override { return cols_; }
  const Tensor& weights() const { return w_; }  // w, as given
  std::span<float> params() override { return params_; }
  std::span<const float> params() const override { return params_; }

  // ŵ [rows][cols] at the current parameters.
  void fake_quantize(float* w_hat) const override;
  // dL/dparams (params() layout, overwritten) from dL/dŵ [rows][cols].
  void backward(const float* d_w_hat, float* d_params) const override;
  // The slim tensor that stores exactly fake_quantize's ŵ (widths and group from this object).
  formats::PackedTensor bake_slim(const formats::SlimParams& p) const;
  // The same as a uniform tensor (every group p.bits wide, groups of p.group_size(cols)).
  formats::PackedTensor bake_uniform(const formats::UniformParams& p) const;
  // Each (row, group)'s grid at the current parameters, row-major [rows][groups], as a GPTQ grid
  // (every group ≥ 2 bits): what gptq+ rounds on.
  std::vector<formats::GridQuantizer> grids() const;
  // Codes [rows][cols], scales and zeros [rows][groups] of fake_quantize's ŵ, in the slim and
  // uniform formats' convention (1-bit groups: α and μ).
  void quantized(std::vector<uint8_t>& codes, std::vector<float>& scales, std::vector<float>& zeros) const;
  const std::vector<int>& widths() const { return widths_; }

  // The STE surrogate of ŵ_i with the rounding of w/scale held at `frozen` (round(w/s₀) − w/s₀ at
  // the point where it was taken): equal to ŵ there, and differentiable in the parameters, so
  // tests can check backward against finite differences of it.
  float surrogate(int64_t row, int64_t col, float frozen) const;
  float frozen_rounding(int64_t row, int64_t col) const;

 private:
  struct Grid {
    int bits;
    float scale, zero;  // b = 1: α and μ
    float dscale_dgamma, dscale_dbeta;
  };
  Grid grid(int64_t row, int64_t g) const;
  int64_t groups() const { return int64_t(widths_.size()); }
  size_t at(int64_t row, int64_t g) const { return size_t(row * groups() + g); }

  int64_t rows_, cols_, group_;
  bool fp16_;
  std::vector<int> widths_;
  Tensor w_;
  std::vector<float> max_, min_, mean_, abs_mean_;  // per (row, group)
  std::vector<float> params_;
};

}  // namespace mixq::quant
