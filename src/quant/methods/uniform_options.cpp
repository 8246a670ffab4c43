#include "mixq/quant/methods/uniform_options.hpp"

#include <fmt/format.h>

#include "mixq/core/error.hpp"
#include "mixq/quant/methods/method.hpp"

namespace mixq::quant {

void parse_uniform_options(const MethodArgs& a, MethodOptions& o) {
  if (!a.bits) fail(a.where, "expected {}:BITS[:GROUP][+sym][+mse][+act-order][+true-seq], e.g. gptq:3:128", o.method);
  UniformOptions u;
  u.format.bits = spec_integer(a, *a.bits, "bits");
  if (a.group) u.format.group = spec_group(a, *a.group);
  // Column order and stage order are GPTQ's: rtn has no calibration to order by.
  const bool gptq = method_info(o.method).needs_calibration;
  for (const auto& f : a.flags) {
    if (f.text == "sym") u.format.symmetric = true;
    else if (f.text == "mse") o.mse_clip = true;
    else if (gptq && f.text == "act-order") o.act_order = true;
    else if (gptq && f.text == "true-seq") o.true_sequential = true;
    else unknown_flag(a, f, gptq ? "sym, mse, act-order, true-seq" : "sym, mse");
  }
  o.params = u;
  u.format.validate();
}

std::string uniform_spec_tail(const MethodOptions& o) {
  const auto& f = o.get<UniformOptions>().format;
  std::string s = ":" + std::to_string(f.bits) + ":" + (f.group > 0 ? std::to_string(f.group) : std::string("row"));
  if (f.symmetric) s += "+sym";
  if (o.mse_clip) s += "+mse";
  if (o.act_order) s += "+act-order";
  if (o.true_sequential) s += "+true-seq";
  return s;
}

void validate_uniform_options(const MethodOptions& o) { o.get<UniformOptions>().format.validate(); }

nlohmann::json uniform_params_json(const MethodOptions& o) { return o.get<UniformOptions>().format.to_json(); }

std::string uniform_label(const MethodOptions& o) {
  const auto& f = o.get<UniformOptions>().format;
  return fmt::format("uniform b{} {} {}", f.bits, f.group > 0 ? fmt::format("g{}", f.group) : "row",
                     f.symmetric ? "sym" : "asym");
}

}  // namespace mixq::quant
