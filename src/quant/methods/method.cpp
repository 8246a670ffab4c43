#include "mixq/quant/methods/method.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "mixq/core/error.hpp"
#include "mixq/quant/methods/rtn.hpp"

namespace mixq::quant {
namespace {

PackedTensor rtn_method(const Tensor& w, const std::vector<double>&, const MethodOptions& o) {
  return quantize_rtn(w, {o.format, o.mse_clip});
}

constexpr MethodInfo kMethods[] = {
    {"rtn", false, &rtn_method},
    {"gptq", true, &quantize_gptq},
    {"fineq-rtn", false, &quantize_fineq_rtn},
    {"fineq-gptq", true, &quantize_fineq_gptq},
};

bool is_fineq(const std::string& method) { return method.starts_with("fineq"); }

}  // namespace

const MethodInfo& method_info(const std::string& name) {
  for (const auto& m : kMethods)
    if (name == m.name) return m;
  fail("--method", "unknown method '{}' (rtn, gptq, fineq-rtn, fineq-gptq)", name);
}

MethodOptions parse_method_spec(const std::string& spec) {
  MethodOptions o;
  std::vector<std::string> flags;
  std::string head = spec;
  for (size_t plus; (plus = head.rfind('+')) != std::string::npos; head.resize(plus)) flags.push_back(head.substr(plus + 1));
  std::reverse(flags.begin(), flags.end());
  std::vector<std::string> fields;
  for (size_t start = 0;;) {
    const size_t colon = head.find(':', start);
    fields.push_back(head.substr(start, colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  auto number = [&](const std::string& f, const char* what) {
    size_t used = 0;
    double v = 0;
    try {
      v = std::stod(f, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != f.size()) fail(spec, "{} '{}' is not a number", what, f);
    return v;
  };
  auto group = [&](const std::string& f) {
    if (f == "row") return 0;
    const double g = number(f, "group size");
    if (g <= 0 || g != std::floor(g)) fail(spec, "group size must be a positive integer (or 'row'), got {}", f);
    return int(g);
  };
  o.method = method_info(fields[0]).name;
  if (is_fineq(o.method)) {
    if (fields.size() > 2) fail(spec, "expected {}[:GROUP|row][+paper][+ratio|+min-error|+obs][+t=T][+int3-wide|fine][+int2-twos|sym]", o.method);
    o.fineq.group = fields.size() == 2 ? group(fields[1]) : 0;
    for (const auto& f : flags) {
      if (f.starts_with("t=")) o.fineq.threshold = number(f.substr(2), "threshold");
      else if (f == "paper") o.fineq = {o.fineq.group, o.fineq.threshold, "ratio", "wide", "twos"};
      else if (f == "ratio" || f == "min-error" || f == "obs") o.fineq.rule = f;
      else if (f == "int3-wide" || f == "int3-fine") o.fineq.int3 = f.substr(5);
      else if (f == "int2-twos" || f == "int2-sym") o.fineq.int2 = f.substr(5);
      else fail(spec, "unknown flag '+{}' (paper, t=T, ratio, min-error, obs, int3-wide, int3-fine, int2-twos, int2-sym)", f);
    }
    o.fineq.validate();
    return o;
  }
  if (fields.size() < 2 || fields.size() > 3)
    fail(spec, "expected METHOD:BITS[:GROUP][+sym][+mse][+act-order][+true-seq], e.g. gptq:3:128");
  const double bits = number(fields[1], "bits");
  o.format.bits = int(bits);
  if (bits != o.format.bits) fail(spec, "bits must be an integer, got {}", fields[1]);
  if (fields.size() == 3) o.format.group = group(fields[2]);
  for (const auto& f : flags) {
    if (f == "sym") o.format.symmetric = true;
    else if (f == "mse") o.mse_clip = true;
    else if (f == "act-order") o.act_order = true;
    else if (f == "true-seq") o.true_sequential = true;
    else fail(spec, "unknown flag '+{}' (sym, mse, act-order, true-seq)", f);
  }
  o.format.validate();
  return o;
}

std::string method_spec(const MethodOptions& o) {
  if (is_fineq(o.method)) {
    const auto& f = o.fineq;
    std::string s = o.method + ":" + (f.group > 0 ? std::to_string(f.group) : std::string("row"));
    const FineqParams d;
    if (f.rule != d.rule) s += "+" + f.rule;
    if (f.threshold != d.threshold) s += fmt::format("+t={}", f.threshold);
    if (f.int3 != d.int3) s += "+int3-" + f.int3;
    if (f.int2 != d.int2) s += "+int2-" + f.int2;
    if (o.true_sequential) s += "+true-seq";
    return s;
  }
  std::string s = o.method + ":" + std::to_string(o.format.bits) + ":" +
                  (o.format.group > 0 ? std::to_string(o.format.group) : std::string("row"));
  if (o.format.symmetric) s += "+sym";
  if (o.mse_clip) s += "+mse";
  if (o.act_order) s += "+act-order";
  if (o.true_sequential) s += "+true-seq";
  return s;
}

std::string format_name_of(const MethodOptions& o) { return is_fineq(o.method) ? "fineq" : "uniform"; }

void validate_method_options(const MethodOptions& o) {
  method_info(o.method);
  if (is_fineq(o.method))
    o.fineq.validate();
  else
    o.format.validate();
}

nlohmann::json method_options_json(const MethodOptions& o) {
  const bool fq = is_fineq(o.method);
  return {{"method", o.method},
          {"spec", method_spec(o)},
          {"format", format_name_of(o)},
          {"params", fq ? o.fineq.to_json() : o.format.to_json()},
          {"mse_clip", o.mse_clip},
          {"damp", o.damp},
          {"block", o.block},
          {"act_order", o.act_order},
          {"true_sequential", o.true_sequential}};
}

}  // namespace mixq::quant
