#pragma once
// Quantization methods: each turns (W, H, options) into a packed tensor and is one row of the
// method table (methods/method_row.hpp). RTN and fineq-rtn ignore H; GPTQ and fineq-gptq need
// it; SliM-LLM also needs the layer's calibration inputs (its bit allocation scores candidates
// on real layer outputs). A new method: its own header and source (options struct, quantizer,
// row), its options in MethodParams, its row in method.cpp.
#include <span>
#include <string>
#include <variant>

#include <nlohmann/json.hpp>

#include "mixq/core/error.hpp"
#include "mixq/quant/methods/fineq.hpp"
#include "mixq/quant/methods/fineq_plus.hpp"
#include "mixq/quant/methods/gptq.hpp"
#include "mixq/quant/methods/method_row.hpp"
#include "mixq/quant/methods/rtn.hpp"
#include "mixq/quant/methods/slim.hpp"
#include "mixq/quant/methods/slim_plus.hpp"
#include "mixq/quant/methods/uniform_options.hpp"
#include "mixq/quant/methods/uniform_plus.hpp"

namespace mixq::quant {

// Each method's own options; its row reads the alternative it wrote.
using MethodParams = std::variant<UniformOptions, FineqOptions, SlimOptions, SlimPlusOptions, UniformPlusOptions,
                                  FineqPlusOptions>;

struct MethodOptions {
  std::string method = "gptq";  // a row of the method table
  MethodParams params;          // the method's own options
  // The grid and GPTQ engine's knobs, recorded in every file (a method that ignores one refuses
  // it when set).
  bool mse_clip = false;         // RTN/GPTQ grid: search the clipping range
  double damp = 0.01;            // GPTQ: λ, H += λ·mean(diag H)·I (×10 per failed Cholesky)
  int block = 128;               // GPTQ: columns per lazy-update block
  bool act_order = false;        // GPTQ: columns by descending diag H (static groups)
  bool true_sequential = false;  // driver: q,k,v → o → gate,up → down, each on quantized inputs
  // The output head's spec (a method without calibration, e.g. "rtn:4:32"); "" keeps it as stored.
  std::string head;

  // The method's options as T; Error when the method keeps other options.
  template <typename T>
  const T& get() const {
    if (const T* p = std::get_if<T>(&params)) return *p;
    fail(method, "options of another method");
  }
  template <typename T>
  T& get() {
    if (T* p = std::get_if<T>(&params)) return *p;
    fail(method, "options of another method");
  }
};

// Every method, in table order (the one list the CLI and tests read).
std::span<const MethodInfo* const> all_methods();
// "rtn, gptq, fineq-rtn, fineq-gptq or slim".
std::string method_choices();
// The table entry for `name`, or Error listing the known methods.
const MethodInfo& method_info(const std::string& name);

// The options of `args` for method `name` (the CLI's path; parse_method_spec is the spec's).
MethodOptions method_options(const std::string& name, const MethodArgs& args);
// A configuration as one word, for `mixq compare --configs` and table labels:
//   METHOD:BITS[:GROUP][+flags] (rtn, gptq, slim) or METHOD[:GROUP][+flags] (fineq-*), each
// method's grammar in its row; GROUP is a number or "row" (one group per row).
MethodOptions parse_method_spec(const std::string& spec);
std::string method_spec(const MethodOptions& o);
// "uniform", "fineq" or "slim": the format a method writes.
std::string format_name_of(const MethodOptions& o);
// Error unless the method exists and its options can run.
void validate_method_options(const MethodOptions& o);
// Every option, for the quantized file's metadata.
nlohmann::json method_options_json(const MethodOptions& o);
// A few words on the format written, for `compare`'s table.
std::string method_label(const MethodOptions& o);

}  // namespace mixq::quant
