#include "mixq/quant/calib/hessian.hpp"

#include "mixq/kernels/dense_f32.hpp"

#include <cblas.h>

namespace mixq::quant {

HessianAccumulator::HessianAccumulator(size_t dim) : dim_(dim), sum_(dim * dim, 0.0) {}

void HessianAccumulator::add(const float* x, size_t n) {
  scratch_.assign(x, x + n * dim_);
  // Upper triangle of Σ xᵀx for X[n][dim] row-major: C = Xᵀ X.
  kernels::use_single_threaded_blas();
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, int(dim_), int(n), 1.0, scratch_.data(), int(dim_), 1.0,
              sum_.data(), int(dim_));
  tokens_ += n;
}

std::vector<double> HessianAccumulator::hessian() const {
  std::vector<double> h(dim_ * dim_);
  const double scale = tokens_ ? 2.0 / double(tokens_) : 0.0;
  for (size_t i = 0; i < dim_; ++i)
    for (size_t j = i; j < dim_; ++j) h[i * dim_ + j] = h[j * dim_ + i] = sum_[i * dim_ + j] * scale;
  return h;
}

std::vector<double> HessianAccumulator::take_hessian() {
  std::vector<double> h = std::move(sum_);
  sum_.clear();
  const double scale = tokens_ ? 2.0 / double(tokens_) : 0.0;
  for (size_t i = 0; i < dim_; ++i)
    for (size_t j = i; j < dim_; ++j) h[i * dim_ + j] = h[j * dim_ + i] = h[i * dim_ + j] * scale;
  return h;
}

}  // namespace mixq::quant
