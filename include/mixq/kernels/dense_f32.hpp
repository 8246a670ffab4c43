#pragma once
// fp32 kernels for unquantized weights W[rows][cols] (row-major, y = W x).
#include <cstddef>

#include "mixq/core/thread_pool.hpp"

namespace mixq::kernels {

// Scalar reference dot product (the spec the SIMD kernel is tested against, to fp tolerance:
// summation order differs).
float dot_f32_reference(const float* a, const float* b, size_t n);
// Highway SIMD dot product, best target chosen at run time.
float dot_f32(const float* a, const float* b, size_t n);

// y[rows] = W x, output rows split across the pool's threads.
void gemv_f32(const float* w, size_t rows, size_t cols, const float* x, float* y, ThreadPool& pool);

// Every BLAS call in mixq runs single-threaded: mixq's pool owns the cores, and OpenBLAS's own
// threading would make results depend on the machine's core count. Idempotent; call before BLAS.
void use_single_threaded_blas();

// Y[n][rows] = X[n][cols] Wᵀ: single-threaded BLAS sgemm on fixed slabs of kGemmSlabRows rows of
// W spread over the pool (bit-identical for any thread count).
inline constexpr size_t kGemmSlabRows = 64;
// One slab: Y[n][slab_rows] (row stride ldy) = X[n][cols] W_slabᵀ, single-threaded sgemm.
void gemm_f32_slab(const float* w_slab, size_t slab_rows, size_t cols, const float* x, size_t n, float* y, size_t ldy);
void gemm_f32(const float* w, size_t rows, size_t cols, const float* x, size_t n, float* y, ThreadPool& pool);

}  // namespace mixq::kernels
