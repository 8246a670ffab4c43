#pragma once
// The inner loop of FineQ's step search (quant/methods/fineq.cpp): the squared error of a run of
// clusters at one candidate step Δ under the best-mode rule, each cluster encoded in whichever of
// its four modes (three INT2 codes, or one weight pruned and two INT3 codes) reconstructs it best.
// A search tries 100 steps on every weight, so this is where fineq-rtn spends its time. The
// reference is the spec; the SIMD kernel takes one cluster per vector lane and gives the very same
// bits: each lane performs the reference's operations in its order (no fused multiply-add,
// lround's rounding of halves away from zero), and the clusters' errors are summed in cluster
// order.
#include <cstdint>

#include "mixq/formats/fineq.hpp"

namespace mixq::kernels {

// Σ over the clusters of v[0, n) (n a multiple of 3) of the smallest of the four modes' squared
// errors at step delta, as formats::fineq_encode computes them (weighted by importance[i] when
// given), added in cluster order.
float fineq_best_mode_error_reference(const float* v, int64_t n, float delta, const formats::FineqGrids& g,
                                      const float* importance);
// The same bits, one cluster per vector lane (Highway, best target at run time).
float fineq_best_mode_error(const float* v, int64_t n, float delta, const formats::FineqGrids& g, const float* importance);

}  // namespace mixq::kernels
