// The method table and what reads it: specs, validation and the file's record go through each
// method's row, never a branch on its name.
#include "mixq/quant/methods/method.hpp"

#include <algorithm>
#include <cmath>

namespace mixq::quant {
namespace {

constexpr const MethodInfo* kMethods[] = {&kRtnMethod,      &kGptqMethod, &kFineqRtnMethod, &kFineqGptqMethod,
                                          &kSlimMethod,     &kSlimPlusMethod, &kRtnPlusMethod, &kGptqPlusMethod,
                                          &kFineqRtnPlusMethod, &kFineqGptqPlusMethod};

}  // namespace

std::span<const MethodInfo* const> all_methods() { return kMethods; }

std::string method_choices() {
  std::string s;
  for (size_t i = 0; i < std::size(kMethods); ++i)
    s += (i == 0 ? "" : i + 1 == std::size(kMethods) ? " or " : ", ") + std::string(kMethods[i]->name);
  return s;
}

const MethodInfo& method_info(const std::string& name) {
  for (const MethodInfo* m : kMethods)
    if (name == m->name) return *m;
  fail("--method", "unknown method '{}' ({})", name, method_choices());
}

double spec_number(const MethodArgs& a, const MethodArgs::Word& w, const char* what) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(w.text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != w.text.size()) fail(a.where, "{} '{}' is not a number", what, w.text);
  return v;
}

int spec_integer(const MethodArgs& a, const MethodArgs::Word& w, const char* what) {
  const double v = spec_number(a, w, what);
  if (v != std::floor(v) || std::fabs(v) > 1e9) fail(a.where, "{} must be an integer, got {}", what, w.text);
  return int(v);
}

int spec_group(const MethodArgs& a, const MethodArgs::Word& w) {
  if (w.text == "row") return 0;
  const double g = spec_number(a, w, "group size");
  if (g <= 0 || g != std::floor(g) || g > 1e9) fail(a.where, "group size must be a positive integer (or 'row'), got {}", w.text);
  return int(g);
}

void unknown_flag(const MethodArgs& a, const MethodArgs::Word& w, const char* known) {
  fail(a.where, "unknown flag {} (this method takes {})", w.origin, known);
}

MethodOptions method_options(const std::string& name, const MethodArgs& args) {
  MethodOptions o;
  const MethodInfo& m = method_info(name);
  o.method = m.name;
  m.parse(args, o);
  return o;
}

MethodOptions parse_method_spec(const std::string& spec) {
  MethodArgs args;
  args.where = spec;
  // A method's name may itself end in '+' (slim+): the longest name the spec starts with, followed
  // by ':', '+' or the end, is the method; flags are split off only after it.
  size_t name_len = 0;
  for (const MethodInfo* m : kMethods) {
    const std::string_view n = m->name;
    if (spec.starts_with(n) && (spec.size() == n.size() || spec[n.size()] == ':' || spec[n.size()] == '+'))
      name_len = std::max(name_len, n.size());
  }
  std::string head = spec;
  for (size_t plus; (plus = head.rfind('+')) != std::string::npos && plus >= name_len; head.resize(plus)) {
    const std::string flag = head.substr(plus + 1);
    args.flags.push_back({flag, "'+" + flag + "'"});
  }
  std::reverse(args.flags.begin(), args.flags.end());
  std::vector<std::string> fields;
  for (size_t start = 0;;) {
    const size_t colon = head.find(':', start);
    fields.push_back(head.substr(start, colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  const MethodInfo& m = method_info(fields[0]);
  const size_t max_fields = m.takes_bits ? 3 : 2;
  if (fields.size() > max_fields) fail(spec, "expected {}{}", m.name, m.grammar);
  size_t next = 1;
  if (m.takes_bits && next < fields.size()) args.bits = MethodArgs::Word{fields[next], "bits"}, ++next;
  if (next < fields.size()) args.group = MethodArgs::Word{fields[next], "group"};
  return method_options(m.name, args);
}

std::string method_spec(const MethodOptions& o) { return o.method + method_info(o.method).spec_tail(o); }

std::string format_name_of(const MethodOptions& o) { return method_info(o.method).format; }

void validate_method_options(const MethodOptions& o) { method_info(o.method).validate(o); }

std::string method_label(const MethodOptions& o) { return method_info(o.method).label(o); }

nlohmann::json method_options_json(const MethodOptions& o) {
  nlohmann::json j = {{"method", o.method},
                      {"spec", method_spec(o)},
                      {"format", format_name_of(o)},
                      {"params", method_info(o.method).params_json(o)},
                      {"mse_clip", o.mse_clip},
                      {"damp", o.damp},
                      {"block", o.block},
                      {"act_order", o.act_order},
                      {"true_sequential", o.true_sequential}};
  if (!o.head.empty()) j["head"] = o.head;  // only when set: files without a quantized head keep their bytes
  return j;
}

}  // namespace mixq::quant
