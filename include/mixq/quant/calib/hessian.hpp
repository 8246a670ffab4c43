#pragma once
// H = 2/N Σ x xᵀ over every calibration token x that reaches a linear layer (GPTQ's proxy
// Hessian of the layer-output squared error). Accumulated in double with BLAS dsyrk.
#include <cstddef>
#include <vector>

namespace mixq::quant {

class HessianAccumulator {
 public:
  explicit HessianAccumulator(size_t dim);
  // Adds x[n][dim].
  void add(const float* x, size_t n);
  size_t dim() const { return dim_; }
  size_t tokens() const { return tokens_; }
  // The full symmetric H [dim][dim], scaled by 2 / tokens.
  std::vector<double> hessian() const;
  // The same, made in place from the accumulator's own storage, which it leaves empty: the last
  // linear of a site takes H without a second dim² copy (down_proj at 7B: 0.97 GB).
  std::vector<double> take_hessian();

 private:
  size_t dim_, tokens_ = 0;
  std::vector<double> sum_;  // upper triangle of Σ x xᵀ (row-major)
  std::vector<double> scratch_;
};

}  // namespace mixq::quant
