// fp32 dot/GEMV with Google Highway's runtime dispatch: this file is compiled once per SIMD
// target through foreach_target.h, and HWY_DYNAMIC_DISPATCH picks the best one the CPU has.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/dense_f32.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

HWY_BEFORE_NAMESPACE();
namespace mixq::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

float DotF32(const float* HWY_RESTRICT a, const float* HWY_RESTRICT b, size_t n) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  // Four independent accumulators hide the FMA latency.
  auto s0 = hn::Zero(d), s1 = hn::Zero(d), s2 = hn::Zero(d), s3 = hn::Zero(d);
  size_t i = 0;
  for (; i + 4 * N <= n; i += 4 * N) {
    s0 = hn::MulAdd(hn::LoadU(d, a + i), hn::LoadU(d, b + i), s0);
    s1 = hn::MulAdd(hn::LoadU(d, a + i + N), hn::LoadU(d, b + i + N), s1);
    s2 = hn::MulAdd(hn::LoadU(d, a + i + 2 * N), hn::LoadU(d, b + i + 2 * N), s2);
    s3 = hn::MulAdd(hn::LoadU(d, a + i + 3 * N), hn::LoadU(d, b + i + 3 * N), s3);
  }
  for (; i + N <= n; i += N) s0 = hn::MulAdd(hn::LoadU(d, a + i), hn::LoadU(d, b + i), s0);
  s0 = hn::Add(hn::Add(s0, s1), hn::Add(s2, s3));
  float sum = hn::GetLane(hn::SumOfLanes(d, s0));
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

void GemvRowsF32(const float* HWY_RESTRICT w, size_t cols, const float* HWY_RESTRICT x,
                 float* HWY_RESTRICT y, size_t row_begin, size_t row_end) {
  for (size_t r = row_begin; r < row_end; ++r) y[r] = DotF32(w + r * cols, x, cols);
}

}  // namespace HWY_NAMESPACE
}  // namespace mixq::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include <cblas.h>

#include <algorithm>

#include "mixq/kernels/dense_f32.hpp"

namespace mixq::kernels {

HWY_EXPORT(DotF32);
HWY_EXPORT(GemvRowsF32);

float dot_f32_reference(const float* a, const float* b, size_t n) {
  float sum = 0.f;
  for (size_t i = 0; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

float dot_f32(const float* a, const float* b, size_t n) { return HWY_DYNAMIC_DISPATCH(DotF32)(a, b, n); }

void gemv_f32(const float* w, size_t rows, size_t cols, const float* x, float* y, ThreadPool& pool) {
  const auto rows_fn = HWY_DYNAMIC_DISPATCH(GemvRowsF32);
  // Grain of 16 rows keeps each thread's share a contiguous, cache-friendly slab of W.
  pool.parallel_for(rows, [&](size_t b, size_t e) { rows_fn(w, cols, x, y, b, e); }, 16);
}

void use_single_threaded_blas() {
  static const bool once = [] {
    openblas_set_num_threads(1);
    return true;
  }();
  (void)once;
}

void gemm_f32_slab(const float* w_slab, size_t slab_rows, size_t cols, const float* x, size_t n, float* y, size_t ldy) {
  use_single_threaded_blas();
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(n), int(slab_rows), int(cols), 1.f, x, int(cols), w_slab,
              int(cols), 0.f, y, int(ldy));
}

void gemm_f32(const float* w, size_t rows, size_t cols, const float* x, size_t n, float* y, ThreadPool& pool) {
  // OpenBLAS's result for an element depends on how the call is partitioned, so the partition is
  // fixed: slabs of kGemmSlabRows output columns, each one sgemm call, handed out to the pool's
  // threads. Results are then bit-identical for any thread count.
  const size_t slabs = (rows + kGemmSlabRows - 1) / kGemmSlabRows;
  pool.parallel_for(slabs, [&](size_t sb, size_t se) {
    for (size_t s = sb; s < se; ++s) {
      const size_t b = s * kGemmSlabRows, e = std::min(rows, b + kGemmSlabRows);
      gemm_f32_slab(w + b * cols, e - b, cols, x, n, y + b, rows);
    }
  });
}

}  // namespace mixq::kernels
#endif  // HWY_ONCE
