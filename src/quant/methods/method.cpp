#include "mixq/quant/methods/method.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "mixq/core/error.hpp"
#include "mixq/quant/methods/rtn.hpp"

namespace mixq::quant {
namespace {

// The table's signature over methods that only need the Hessian (or nothing).
template <formats::PackedTensor (*Quantize)(const Tensor&, const std::vector<double>&, const MethodOptions&)>
formats::PackedTensor with_hessian(const Tensor& w, const LayerCalibration& c, const MethodOptions& o) {
  return Quantize(w, c.hessian, o);
}

formats::PackedTensor rtn_method(const Tensor& w, const LayerCalibration&, const MethodOptions& o) {
  return quantize_rtn(w, {o.format, o.mse_clip});
}

constexpr MethodInfo kMethods[] = {
    {"rtn", false, false, &rtn_method},
    {"gptq", true, false, &with_hessian<quantize_gptq>},
    {"fineq-rtn", false, false, &with_hessian<quantize_fineq_rtn>},
    {"fineq-gptq", true, false, &with_hessian<quantize_fineq_gptq>},
    {"slim", true, true, &quantize_slim},
};

bool is_fineq(const std::string& method) { return method.starts_with("fineq"); }
bool is_slim(const std::string& method) { return method == "slim"; }

}  // namespace

const MethodInfo& method_info(const std::string& name) {
  for (const auto& m : kMethods)
    if (name == m.name) return m;
  fail("--method", "unknown method '{}' (rtn, gptq, fineq-rtn, fineq-gptq, slim)", name);
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
  if (is_slim(o.method)) {
    if (fields.size() < 2 || fields.size() > 3)
      fail(spec, "expected slim:N[:GROUP][+official][+no-sba][+no-sqc][+lambda=L][+kl-fp-q|kl-q-fp][+mask-weights][+true-seq]");
    auto& s = o.slim;
    const double n = number(fields[1], "bits");
    s.format.bits = int(n);
    if (n != s.format.bits) fail(spec, "bits must be an integer, got {}", fields[1]);
    if (fields.size() == 3) {
      if (fields[2] == "row") fail(spec, "slim groups span all rows; give a group size, not 'row'");
      s.format.group = group(fields[2]);
    }
    for (const auto& f : flags) {
      if (f == "official") s.official = true;
      else if (f == "no-sba") s.sba = false;
      else if (f == "no-sqc") s.sqc = false;
      else if (f.starts_with("lambda=")) s.lambda = number(f.substr(7), "lambda");
      else if (f == "kl-fp-q" || f == "kl-q-fp") s.kl = f.substr(3);
      else if (f == "mask-salience" || f == "mask-weights") s.mask = f.substr(5);
      else if (f == "search-rtn" || f == "search-gptq") s.search = f.substr(7);
      else if (f == "score-kl" || f == "score-mse") s.score = f.substr(6);
      else if (f == "true-seq") o.true_sequential = true;
      else fail(spec, "unknown flag '+{}' (official, no-sba, no-sqc, lambda=L, kl-fp-q, kl-q-fp, mask-salience, mask-weights, search-rtn, search-gptq, score-kl, score-mse, true-seq)", f);
    }
    validate_slim_options(s);
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
    const formats::FineqParams d;
    if (f.rule != d.rule) s += "+" + f.rule;
    if (f.threshold != d.threshold) s += fmt::format("+t={}", f.threshold);
    if (f.int3 != d.int3) s += "+int3-" + f.int3;
    if (f.int2 != d.int2) s += "+int2-" + f.int2;
    if (o.true_sequential) s += "+true-seq";
    return s;
  }
  if (is_slim(o.method)) {
    const SlimOptions &s = o.slim, d;
    std::string out = fmt::format("slim:{}:{}", s.format.bits, s.format.group);
    if (s.official) out += "+official";
    if (!s.sba) out += "+no-sba";
    if (!s.sqc) out += "+no-sqc";
    if (s.lambda != d.lambda) out += fmt::format("+lambda={}", s.lambda);
    if (s.kl_direction() != SlimOptions::recipe_kl(s.official)) out += "+kl-" + s.kl;
    if (s.mask != d.mask) out += "+mask-" + s.mask;
    if (s.search != d.search) out += "+search-" + s.search;
    if (s.score != d.score) out += "+score-" + s.score;
    if (o.true_sequential) out += "+true-seq";
    return out;
  }
  std::string s = o.method + ":" + std::to_string(o.format.bits) + ":" +
                  (o.format.group > 0 ? std::to_string(o.format.group) : std::string("row"));
  if (o.format.symmetric) s += "+sym";
  if (o.mse_clip) s += "+mse";
  if (o.act_order) s += "+act-order";
  if (o.true_sequential) s += "+true-seq";
  return s;
}

std::string format_name_of(const MethodOptions& o) {
  return is_fineq(o.method) ? "fineq" : is_slim(o.method) ? "slim" : "uniform";
}

void validate_slim_options(const SlimOptions& s) {
  s.format.validate();
  if (!(s.lambda >= 1.0) || !std::isfinite(s.lambda)) fail("slim", "SQC salience weight λ must be ≥ 1, got {}", s.lambda);
  if (!s.kl.empty() && s.kl != "fp-q" && s.kl != "q-fp") fail("slim", "KL direction must be fp-q or q-fp, got '{}'", s.kl);
  if (s.mask != "salience" && s.mask != "weights") fail("slim", "salient mask must be salience or weights, got '{}'", s.mask);
  if (s.search != "rtn" && s.search != "gptq") fail("slim", "SBA search must be rtn or gptq, got '{}'", s.search);
  if (s.score != "kl" && s.score != "mse") fail("slim", "SBA score must be kl or mse, got '{}'", s.score);
  if (s.score == "mse" && s.search != "gptq") fail("slim", "the mse score needs +search-gptq");
}

void validate_method_options(const MethodOptions& o) {
  method_info(o.method);
  if (is_fineq(o.method))
    o.fineq.validate();
  else if (is_slim(o.method))
    validate_slim_options(o.slim);
  else
    o.format.validate();
}

nlohmann::json SlimOptions::to_json() const {
  return {{"bits", format.bits}, {"group", format.group}, {"sba", sba},   {"sqc", sqc},
          {"official", official}, {"lambda", lambda},     {"kl", kl_direction()},     {"mask", mask}, {"search", search}, {"score", score}};
}

nlohmann::json method_options_json(const MethodOptions& o) {
  const nlohmann::json params =
      is_fineq(o.method) ? o.fineq.to_json() : is_slim(o.method) ? o.slim.to_json() : o.format.to_json();
  return {{"method", o.method},
          {"spec", method_spec(o)},
          {"format", format_name_of(o)},
          {"params", params},
          {"mse_clip", o.mse_clip},
          {"damp", o.damp},
          {"block", o.block},
          {"act_order", o.act_order},
          {"true_sequential", o.true_sequential}};
}

}  // namespace mixq::quant
