#include "mixq/model/packed_linear.hpp"

#include <algorithm>
#include <vector>

#include "mixq/kernels/dense_f32.hpp"

namespace mixq::model {

PackedLinear::PackedLinear(quant::PackedTensor t) : t_(std::move(t)), ops_(&quant::format_ops(t_.format)) {}

// The straightforward kernel for every format (the fast per-format kernels are issue 7's):
// fixed slabs of output rows are dequantized into a per-thread buffer and multiplied with the
// fp32 SIMD dot (one token) or a single-threaded sgemm (several). Only one slab is ever fp32,
// and the fixed slabs make the result independent of the thread count.
void PackedLinear::forward(const float* x, size_t n, float* y, ThreadPool& pool) const {
  const size_t rows = this->rows(), cols = this->cols(), slab = kernels::kGemmSlabRows;
  const size_t slabs = (rows + slab - 1) / slab;
  pool.parallel_for(slabs, [&](size_t sb, size_t se) {
    thread_local std::vector<float> w;
    w.resize(slab * cols);
    for (size_t s = sb; s < se; ++s) {
      const size_t b = s * slab, e = std::min(rows, b + slab);
      ops_->dequantize_rows(t_, int64_t(b), int64_t(e), w.data());
      if (n == 1) {
        for (size_t r = b; r < e; ++r) y[r] = kernels::dot_f32(w.data() + (r - b) * cols, x, cols);
      } else {
        kernels::gemm_f32_slab(w.data(), e - b, cols, x, n, y + b, rows);
      }
    }
  });
}

}  // namespace mixq::model
