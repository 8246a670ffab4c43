#pragma once
// GPTQ (Frantar et al. 2022; docs/DESIGN.md "GPTQ"): one column at a time, each column's rounding error
// spread over the columns not yet quantized through the inverse Hessian. The error feedback is
// shared by every method that runs GPTQ on its own grid (fineq-gptq, slim).
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "mixq/core/tensor.hpp"
#include "mixq/formats/grid_quantizer.hpp"
#include "mixq/formats/packed_tensor.hpp"
#include "mixq/quant/methods/method_row.hpp"
#include "mixq/quant/methods/uniform_options.hpp"

namespace mixq::quant {

// `h` is H [cols][cols]; dead inputs (H_jj = 0) get H_jj = 1 and W[:, j] = 0. Error when H stays not positive definite after 6 dampings.
// `fixed_grids` (row-major [rows][groups], when given) are the groups' grids instead of fitting
// them (gptq+: the trained clipping's grids); the columns are still rounded with error feedback.
formats::PackedTensor quantize_gptq(const Tensor& w, const std::vector<double>& h, const MethodOptions& o,
                                    std::span<const formats::GridQuantizer> fixed_grids = {});

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
// The same in natural column order with U already factored (`hinv`: U [cols][cols] in float, as
// damped_inverse_cholesky leaves it), so a caller running several passes on one H factors it once.
void gptq_error_feedback_factored(std::vector<float>& w, const std::vector<float>& hinv, int64_t rows, int64_t cols,
                                  int64_t block, const ColumnQuantizer& quantize, const std::string& where);
// tr(ΔW H ΔWᵀ), ΔW = Ŵ − W (both row-major [rows][cols]): the layer-output squared error on the
// calibration inputs up to H's factor 2/N — GPTQ's own objective.
double hessian_weighted_error(const std::vector<float>& w, const std::vector<float>& w_hat, const std::vector<double>& h,
                              int64_t rows, int64_t cols);
// Dead inputs (H_jj = 0) never reached the layer: H_jj = 1 and W[:, j] = 0.
void zero_dead_inputs(std::vector<float>& w, std::vector<double>& h, int64_t rows, int64_t cols);

// Upper Cholesky factor U of (H + λ·mean(diag H)·I)⁻¹, λ multiplied by 10 until H is positive
// definite (at most 6 tries). Returns the λ used.
double damped_inverse_cholesky(std::vector<double>& h, size_t n, double damp, const std::string& where);

// The method table's row "gptq" (options: UniformOptions; damp, block, act-order common).
extern const MethodInfo kGptqMethod;

}  // namespace mixq::quant
