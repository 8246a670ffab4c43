#include "mixq/model/linear.hpp"

#include "mixq/kernels/dense_f32.hpp"

namespace mixq::model {

DenseLinear::DenseLinear(Tensor w) : w_(std::move(w)) {}

void DenseLinear::forward(const float* x, size_t n, float* y, ThreadPool& pool) const {
  // One token is memory-bound (GEMV); several tokens are compute-bound (BLAS GEMM).
  if (n == 1)
    kernels::gemv_f32(w_.data.data(), rows(), cols(), x, y, pool);
  else
    kernels::gemm_f32(w_.data.data(), rows(), cols(), x, n, y, pool);
}

}  // namespace mixq::model
