#pragma once
// Quantization methods: each turns (W, H, options) into a packed tensor and is one row of the
// method table. RTN and fineq-rtn ignore H; GPTQ and fineq-gptq need it; SliM-LLM also needs the
// layer's calibration inputs (its bit allocation scores candidates on real layer outputs).
#include <functional>
#include <string>
#include <vector>

#include "mixq/core/tensor.hpp"
#include "mixq/core/thread_pool.hpp"
#include "mixq/formats/fineq.hpp"
#include "mixq/formats/slim.hpp"
#include "mixq/formats/uniform.hpp"

namespace mixq::quant {

// SliM-LLM (DESIGN.md §5.3, specs/slim-llm.md). Defaults fix what the published code gets wrong
// (p = 0 searched, one damp for search and apply, the paper's KL direction); `official` follows
// the published code exactly so the two recipes can be compared.
struct SlimOptions {
  formats::SlimParams format;               // N (average bits) and G (group size)
  bool sba = true;                 // salience-determined bit allocation (off: every group N bits)
  bool sqc = true;                 // salience-weighted quantizer calibration (off: min-max grid)
  bool official = false;           // p ∈ 1…groups/2−1, absolute damp 0.01 for the search, KL(q‖fp)
  double lambda = 1.0;             // SQC: weight of salient weights' error (1 = published: inert)
  std::string kl;                  // SBA score: fp-q = KL(P_fp‖P_q) (paper Eq. 4) | q-fp (code) | "": the recipe's
  std::string search = "rtn";      // SBA candidates as: rtn (published: RTN of W) | gptq (ours: as stored)
  std::string score = "kl";        // SBA score: kl (published) | mse (ours, search gptq: tr(ΔW H ΔWᵀ))
  std::string mask = "salience";   // SQC salient set: salience (code: 2σ on w²/U_jj²) | weights (paper: 3σ on w)

  // The KL direction used: `kl` when set, else the recipe's (official: q-fp; ours: fp-q).
  static std::string recipe_kl(bool official) { return official ? "q-fp" : "fp-q"; }
  std::string kl_direction() const { return !kl.empty() ? kl : recipe_kl(official); }
  nlohmann::json to_json() const;
};
// Error for N outside 2…7, G not positive, λ < 1, an unknown KL direction, mask rule or search.
void validate_slim_options(const SlimOptions& s);

struct MethodOptions {
  std::string method = "gptq";  // rtn | gptq | fineq-rtn | fineq-gptq
  formats::UniformParams format;         // rtn, gptq
  formats::FineqParams fineq;            // fineq-rtn, fineq-gptq
  SlimOptions slim;             // slim
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
// SliM-LLM: slim:N[:GROUP][+official][+no-sba][+no-sqc][+lambda=L][+kl-fp-q|+kl-q-fp]
// [+mask-salience|+mask-weights][+search-rtn|+search-gptq][+true-seq] (group default 128).
std::string method_spec(const MethodOptions& o);
// "uniform", "fineq" or "slim": the format a method writes.
std::string format_name_of(const MethodOptions& o);
// Error unless the method exists and its format's parameters are valid.
void validate_method_options(const MethodOptions& o);
// Every option, for the quantized file's metadata.
nlohmann::json method_options_json(const MethodOptions& o);

// What calibration gives a method for one linear layer.
struct LayerCalibration {
  std::vector<double> hessian;             // H [cols][cols] (methods with needs_calibration)
  std::vector<std::vector<float>> inputs;  // per window X [tokens][cols] (methods with needs_inputs)
  ThreadPool* pool = nullptr;              // for methods that parallelize (null: one thread)
};

struct MethodInfo {
  const char* name;
  bool needs_calibration;  // a Hessian from calibration windows
  bool needs_inputs;       // the layer's calibration inputs themselves
  formats::PackedTensor (*quantize)(const Tensor& w, const LayerCalibration& calib, const MethodOptions& o);
};

// The table entry for `name`, or Error listing the known methods.
const MethodInfo& method_info(const std::string& name);

// FineQ (DESIGN.md §5.4): Δ per row/group by grid search under the cluster rule, then every
// cluster encoded (RTN); or GPTQ 3 columns at a time, each cluster's mode decided from the
// error-updated weights and frozen, its values re-rounded after each in-cluster update.
formats::PackedTensor quantize_fineq_rtn(const Tensor& w, const std::vector<double>& h, const MethodOptions& o);
formats::PackedTensor quantize_fineq_gptq(const Tensor& w, const std::vector<double>& h, const MethodOptions& o);

// SliM-LLM (specs/slim-llm.md §8): salience order of the groups, SBA's search of p on the
// calibration inputs' output distributions, then GPTQ with block = group and SQC at each group start.
formats::PackedTensor quantize_slim(const Tensor& w, const LayerCalibration& calib, const MethodOptions& o);

// GPTQ (Frantar et al. 2022), DESIGN.md §5.2. `h` is H [cols][cols]; dead inputs (H_jj = 0)
// get H_jj = 1 and W[:, j] = 0. Error when H stays not positive definite after 6 dampings.
formats::PackedTensor quantize_gptq(const Tensor& w, const std::vector<double>& h, const MethodOptions& o);

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

}  // namespace mixq::quant
