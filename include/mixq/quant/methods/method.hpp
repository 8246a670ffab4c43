#pragma once
// Quantization methods: each turns (W, H, options) into a packed tensor and is one row of the
// method table. RTN and fineq-rtn ignore H; GPTQ and fineq-gptq (and later SliM-LLM) need it.
#include <functional>
#include <string>
#include <vector>

#include "mixq/core/tensor.hpp"
#include "mixq/quant/formats/fineq.hpp"
#include "mixq/quant/formats/uniform.hpp"

namespace mixq::quant {

struct MethodOptions {
  std::string method = "gptq";  // rtn | gptq | fineq-rtn | fineq-gptq
  UniformParams format;         // rtn, gptq
  FineqParams fineq;            // fineq-rtn, fineq-gptq
  bool mse_clip = false;        // RTN/GPTQ grid: search the clipping range
  double damp = 0.01;           // GPTQ: λ, H += λ·mean(diag H)·I (×10 per failed Cholesky)
  int block = 128;              // GPTQ: columns per lazy-update block
  bool act_order = false;       // GPTQ: columns by descending diag H (static groups)
  bool true_sequential = false; // driver: q,k,v → o → gate,up → down, each on quantized inputs
};

// A configuration as one word, for `mixq compare --configs` and table labels:
//   METHOD:BITS[:GROUP][+sym][+mse][+act-order][+true-seq]   e.g. gptq:3:128+act-order
// GROUP is a number or "row" (one group per row); default 128.
MethodOptions parse_method_spec(const std::string& spec);
// FineQ configurations: fineq-rtn|fineq-gptq[:GROUP|row][+paper][+ratio|+min-error|+obs][+t=T]
// [+int3-wide|+int3-fine][+int2-twos|+int2-sym] (group default: row; +paper = ratio, wide, twos).
std::string method_spec(const MethodOptions& o);
// "uniform" or "fineq": the format a method writes.
std::string format_name_of(const MethodOptions& o);
// Error unless the method exists and its format's parameters are valid.
void validate_method_options(const MethodOptions& o);
// Every option, for the quantized file's metadata.
nlohmann::json method_options_json(const MethodOptions& o);

struct MethodInfo {
  const char* name;
  bool needs_hessian;
  PackedTensor (*quantize)(const Tensor& w, const std::vector<double>& h, const MethodOptions& o);
};

// The table entry for `name`, or Error listing the known methods.
const MethodInfo& method_info(const std::string& name);

// FineQ (DESIGN.md §5.4): Δ per row/group by grid search under the cluster rule, then every
// cluster encoded (RTN); or GPTQ 3 columns at a time, each cluster's mode decided from the
// error-updated weights and frozen, its values re-rounded after each in-cluster update.
PackedTensor quantize_fineq_rtn(const Tensor& w, const std::vector<double>& h, const MethodOptions& o);
PackedTensor quantize_fineq_gptq(const Tensor& w, const std::vector<double>& h, const MethodOptions& o);

// GPTQ (Frantar et al. 2022), DESIGN.md §5.2. `h` is H [cols][cols]; dead inputs (H_jj = 0)
// get H_jj = 1 and W[:, j] = 0. Error when H stays not positive definite after 6 dampings.
PackedTensor quantize_gptq(const Tensor& w, const std::vector<double>& h, const MethodOptions& o);

// GPTQ's error feedback, whatever the grid: columns are visited in order `perm` (empty: natural);
// for column j (processing order) `quantize(j, w, u_diag, q)` writes each row's quantized value
// q[r] of the current, error-updated w[r][j] (w row-major [rows][cols], permuted when perm is
// given; u_diag[k] = U_kk, whose 1/U_kk² weighs an error in column k in GPTQ's objective);
// the error (w − q)/U_jj is then spread over the later columns (within the block at once, beyond
// it lazily with one GEMM). `w` is left in the permuted order.
using ColumnQuantizer = std::function<void(int64_t j, const std::vector<float>& w, const float* u_diag, float* q)>;
void gptq_error_feedback(std::vector<float>& w, std::vector<double> h, int64_t rows, int64_t cols,
                         const std::vector<int64_t>& perm, double damp, int64_t block, const ColumnQuantizer& quantize,
                         const std::string& where);
// Dead inputs (H_jj = 0) never reached the layer: H_jj = 1 and W[:, j] = 0.
void zero_dead_inputs(std::vector<float>& w, std::vector<double>& h, int64_t rows, int64_t cols);

// Upper Cholesky factor U of (H + λ·mean(diag H)·I)⁻¹, λ multiplied by 10 until H is positive
// definite (at most 6 tries). Returns the λ used.
double damped_inverse_cholesky(std::vector<double>& h, size_t n, double damp, const std::string& where);

}  // namespace mixq::quant
