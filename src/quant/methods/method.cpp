#include "mixq/quant/methods/method.hpp"

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
};

}  // namespace

const MethodInfo& method_info(const std::string& name) {
  for (const auto& m : kMethods)
    if (name == m.name) return m;
  fail("--method", "unknown method '{}' (rtn, gptq)", name);
}

MethodOptions parse_method_spec(const std::string& spec) {
  MethodOptions o;
  std::vector<std::string> flags;
  std::string head = spec;
  for (size_t plus; (plus = head.rfind('+')) != std::string::npos; head.resize(plus)) flags.push_back(head.substr(plus + 1));
  std::vector<std::string> fields;
  for (size_t start = 0;;) {
    const size_t colon = head.find(':', start);
    fields.push_back(head.substr(start, colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  if (fields.size() < 2 || fields.size() > 3)
    fail(spec, "expected METHOD:BITS[:GROUP][+sym][+mse][+act-order][+true-seq], e.g. gptq:3:128");
  auto number = [&](const std::string& f, const char* what) {
    size_t used = 0;
    int v = 0;
    try {
      v = std::stoi(f, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != f.size()) fail(spec, "{} '{}' is not a number", what, f);
    return v;
  };
  o.method = method_info(fields[0]).name;
  o.format.bits = number(fields[1], "bits");
  if (fields.size() == 3) o.format.group = fields[2] == "row" ? 0 : number(fields[2], "group size");
  if (fields.size() == 3 && fields[2] != "row" && o.format.group <= 0)
    fail(spec, "group size must be positive (or 'row'), got {}", o.format.group);
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
  std::string s = o.method + ":" + std::to_string(o.format.bits) + ":" +
                  (o.format.group > 0 ? std::to_string(o.format.group) : std::string("row"));
  if (o.format.symmetric) s += "+sym";
  if (o.mse_clip) s += "+mse";
  if (o.act_order) s += "+act-order";
  if (o.true_sequential) s += "+true-seq";
  return s;
}

nlohmann::json method_options_json(const MethodOptions& o) {
  return {{"method", o.method},       {"spec", method_spec(o)},   {"format", "uniform"},
          {"params", o.format.to_json()}, {"mse_clip", o.mse_clip}, {"damp", o.damp},
          {"block", o.block},         {"act_order", o.act_order}, {"true_sequential", o.true_sequential}};
}

}  // namespace mixq::quant
