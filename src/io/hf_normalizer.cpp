#include "hf_normalizer.hpp"

#include <memory>
#include <utf8proc.h>

#include "mixq/core/error.hpp"
#include "text_util.hpp"
#include "unicode_regex.hpp"

namespace mixq::io {
namespace {

using json = nlohmann::json;

const json& field(const json& node, const char* key, const std::string& where) {
  if (!node.contains(key)) fail(where, "{} has no \"{}\"", node.value("type", "normalizer"), key);
  return node.at(key);
}

Normalizer unicode_form(const std::string& form) {
  return [form](std::string& s) { s = unicode_normalize(s, form); };
}

Normalizer prepend(const json& node, const std::string& where) {
  const std::string text = field(node, "prepend", where).get<std::string>();
  return [text](std::string& s) {
    if (!s.empty()) s.insert(0, text);
  };
}

Normalizer replace(const json& node, const std::string& where) {
  auto regex = std::make_shared<UnicodeRegex>(regex_from_pattern(field(node, "pattern", where), where));
  const std::string content = field(node, "content", where).get<std::string>();
  return [regex, content](std::string& s) { s = regex->replace_matches(s, content); };
}

Normalizer sequence(const json& node, const std::string& where) {
  std::vector<Normalizer> steps;
  for (const auto& n : field(node, "normalizers", where)) steps.push_back(make_normalizer(n, where));
  return [steps](std::string& s) {
    for (const auto& step : steps) step(s);
  };
}

struct NormalizerType {
  const char* name;
  Normalizer (*make)(const json&, const std::string&);
};

const NormalizerType kNormalizers[] = {
    {"NFC", [](const json&, const std::string&) { return unicode_form("NFC"); }},
    {"NFD", [](const json&, const std::string&) { return unicode_form("NFD"); }},
    {"NFKC", [](const json&, const std::string&) { return unicode_form("NFKC"); }},
    {"NFKD", [](const json&, const std::string&) { return unicode_form("NFKD"); }},
    {"Prepend", prepend},
    {"Replace", replace},
    {"Sequence", sequence},
};

}  // namespace

Normalizer make_normalizer(const json& node, const std::string& where) {
  if (node.is_null()) return {};
  return make_component(kNormalizers, node, where, "normalizer");
}

std::string unicode_normalize(const std::string& text, const std::string& form) {
  // ASCII is invariant under every normal form: most text never reaches utf8proc.
  bool ascii = true;
  for (char c : text) ascii &= uint8_t(c) < 0x80;
  int options = UTF8PROC_STABLE;
  if (form == "NFC") options |= UTF8PROC_COMPOSE;
  else if (form == "NFD") options |= UTF8PROC_DECOMPOSE;
  else if (form == "NFKC") options |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
  else if (form == "NFKD") options |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
  else fail(form, "not a Unicode normal form");
  if (ascii) return text;
  utf8proc_uint8_t* out = nullptr;
  const auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()), utf8proc_ssize_t(text.size()), &out,
                              utf8proc_option_t(options));
  if (n < 0) fail(form, "cannot normalize text: {}", utf8proc_errmsg(n));
  std::string result(reinterpret_cast<const char*>(out), size_t(n));
  std::free(out);
  return result;
}

}  // namespace mixq::io
