#pragma once
// Quantization methods: each turns (W, H, options) into a packed tensor and is one row of the
// method table. RTN ignores H; GPTQ (and later SliM-LLM, FineQ) needs it.
#include <string>
#include <vector>

#include "mixq/core/tensor.hpp"
#include "mixq/quant/formats/uniform.hpp"

namespace mixq::quant {

struct MethodOptions {
  std::string method = "gptq";  // rtn | gptq
  UniformParams format;
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
std::string method_spec(const MethodOptions& o);
// Every option, for the quantized file's metadata.
nlohmann::json method_options_json(const MethodOptions& o);

struct MethodInfo {
  const char* name;
  bool needs_hessian;
  PackedTensor (*quantize)(const Tensor& w, const std::vector<double>& h, const MethodOptions& o);
};

// The table entry for `name`, or Error listing the known methods.
const MethodInfo& method_info(const std::string& name);

// GPTQ (Frantar et al. 2022), DESIGN.md §5.2. `h` is H [cols][cols]; dead inputs (H_jj = 0)
// get H_jj = 1 and W[:, j] = 0. Error when H stays not positive definite after 6 dampings.
PackedTensor quantize_gptq(const Tensor& w, const std::vector<double>& h, const MethodOptions& o);

// Upper Cholesky factor U of (H + λ·mean(diag H)·I)⁻¹, λ multiplied by 10 until H is positive
// definite (at most 6 tries). Returns the λ used.
double damped_inverse_cholesky(std::vector<double>& h, size_t n, double damp, const std::string& where);

}  // namespace mixq::quant
