#include "mixq/model/packed_linear.hpp"

#include <algorithm>
#include <vector>

#include "mixq/kernels/dense_f32.hpp"

namespace mixq::model {

PackedLinear::PackedLinear(quant::PackedTensor t) : t_(std::move(t)), ops_(&quant::format_ops(t_.format)) {
  const quant::AffineForm form = ops_->affine_form(t_);
  if (kernels::InterleavedWeights::supports(form)) fast_.emplace(form, t_.rows, t_.cols);
}

// Tokens up to this many run the one-token kernel each: it reads the weights once per token,
// which beats dequantizing for BLAS only while the batch is this small.
constexpr size_t kMaxTokensPerTokenKernel = 2;

// One token: the interleaved kernel over output rows split across threads (each row is computed
// by one thread in a fixed way: the result does not depend on the thread count). Otherwise fixed
// slabs of output rows are dequantized into a per-thread buffer and multiplied with the fp32 SIMD
// dot or a single-threaded sgemm; only one slab is ever fp32.
void PackedLinear::forward(const float* x, size_t n, float* y, ThreadPool& pool) const {
  const size_t rows = this->rows(), cols = this->cols(), slab = kernels::kGemmSlabRows;
  if (fast_ && n <= kMaxTokensPerTokenKernel) {
    thread_local kernels::QuantizedActivations mine;  // reused: no allocation in steady state
    const kernels::QuantizedActivations& a = mine;     // a name the workers resolve to this thread's copy
    for (size_t k = 0; k < n; ++k) {
      fast_->quantize(x + k * cols, mine);
      float* yk = y + k * rows;
      pool.parallel_for(rows, [&](size_t b, size_t e) { fast_->gemv(a, yk, int64_t(b), int64_t(e)); }, 16);
    }
    return;
  }
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
