#pragma once
// FineQ (docs/DESIGN.md "FineQ"): Δ per row/group by grid search under the cluster rule, then every
// cluster encoded (fineq-rtn); or GPTQ 3 columns at a time, each cluster's mode decided from the
// error-updated weights and frozen, its values re-rounded after each in-cluster update
// (fineq-gptq). Spec: fineq-rtn|fineq-gptq[:GROUP|row][+paper][+ratio|+min-error|+best-mode]
// [+t=T][+int3-wide|+int3-fine][+int2-twos|+int2-sym][+true-seq] (group default: row; +paper =
// ratio, wide, twos).
#include <span>
#include <vector>

#include "mixq/core/tensor.hpp"
#include "mixq/core/thread_pool.hpp"
#include "mixq/formats/fineq.hpp"
#include "mixq/quant/methods/method_row.hpp"

namespace mixq::quant {

struct FineqOptions {
  formats::FineqParams format;
};

// Rows are independent: with a pool they are searched in parallel (the same bytes for any count).
formats::PackedTensor quantize_fineq_rtn(const Tensor& w, const std::vector<double>& h, const MethodOptions& o,
                                         ThreadPool* pool = nullptr);
// `fixed_steps` (Δ per (row, group), when given) replace the step search (fineq-gptq+: the trained
// steps); each cluster's mode is still chosen from the error-updated weights. With a pool, each
// group's rows are searched in parallel.
formats::PackedTensor quantize_fineq_gptq(const Tensor& w, const std::vector<double>& h, const MethodOptions& o,
                                          std::span<const float> fixed_steps = {}, ThreadPool* pool = nullptr);
// A cluster's mode (−1: three INT2 codes, else the pruned position) at step Δ under p's rule;
// importance (best-mode only, may be null) weighs each weight's error.
int fineq_cluster_mode(const float w[3], float delta, const formats::FineqParams& p, const formats::FineqGrids& g,
                       const float* importance);

// The method table's rows "fineq-rtn" and "fineq-gptq" (options: FineqOptions).
extern const MethodInfo kFineqRtnMethod;
extern const MethodInfo kFineqGptqMethod;

}  // namespace mixq::quant
