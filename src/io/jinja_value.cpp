#include "jinja_value.hpp"

#include <cmath>

#include <fmt/format.h>

#include "mixq/core/error.hpp"
#include "text_util.hpp"

namespace mixq::io::jinja {

Value Value::from_json(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null: return none();
    case nlohmann::json::value_t::boolean: return boolean(j.get<bool>());
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned: return integer(j.get<int64_t>());
    case nlohmann::json::value_t::number_float: return number(j.get<double>());
    case nlohmann::json::value_t::string: return string(j.get<std::string>());
    case nlohmann::json::value_t::array: {
      List items;
      for (const auto& e : j) items.push_back(from_json(e));
      return new_list(std::move(items));
    }
    case nlohmann::json::value_t::object: {
      Dict items;
      for (const auto& [k, v] : j.items()) items.emplace_back(k, from_json(v));
      return new_dict(std::move(items));
    }
    default: return Value();
  }
}

Value Value::get(const std::string& key) const {
  if (kind != Kind::Dict) return Value();
  for (const auto& [k, v] : *dict)
    if (k == key) return v;
  return Value();
}

void Value::set(const std::string& key, Value v) {
  for (auto& [k, old] : *dict)
    if (k == key) {
      old = std::move(v);
      return;
    }
  dict->emplace_back(key, std::move(v));
}

std::vector<std::string> characters(const std::string& s) {
  std::vector<std::string> out;
  for_each_char(s, [&](std::string_view c) { out.emplace_back(c); });
  return out;
}

const char* kind_name(Value::Kind k) {
  static const char* names[] = {"undefined", "none", "boolean", "integer", "float", "string", "list", "dict"};
  return names[int(k)];
}

bool truthy(const Value& v) {
  switch (v.kind) {
    case Value::Kind::Undefined:
    case Value::Kind::None: return false;
    case Value::Kind::Bool: return v.b;
    case Value::Kind::Int: return v.i != 0;
    case Value::Kind::Float: return v.f != 0;
    case Value::Kind::String: return !v.s.empty();
    case Value::Kind::List: return !v.list->empty();
    case Value::Kind::Dict: return !v.dict->empty();
  }
  return false;
}

bool equal(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) return a.as_double() == b.as_double();
  if (a.kind == Value::Kind::Bool && b.kind == Value::Kind::Bool) return a.b == b.b;
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case Value::Kind::String: return a.s == b.s;
    case Value::Kind::List:
      if (a.list->size() != b.list->size()) return false;
      for (size_t i = 0; i < a.list->size(); ++i)
        if (!equal((*a.list)[i], (*b.list)[i])) return false;
      return true;
    case Value::Kind::Dict:
      if (a.dict->size() != b.dict->size()) return false;
      for (const auto& [k, v] : *a.dict)
        if (!equal(v, b.get(k))) return false;
      return true;
    default: return true;  // undefined == undefined, none == none
  }
}

bool less(const Value& a, const Value& b, const std::string& where) {
  if (a.is_number() && b.is_number()) return a.as_double() < b.as_double();
  if (a.kind == Value::Kind::String && b.kind == Value::Kind::String) return a.s < b.s;
  fail(where, "cannot order a {} and a {}", kind_name(a.kind), kind_name(b.kind));
}

namespace {

// Python's repr of a float: the shortest round-trip digits, always with a '.' or an exponent.
std::string float_text(double f) {
  if (std::isnan(f)) return "nan";
  if (std::isinf(f)) return f > 0 ? "inf" : "-inf";
  std::string s = fmt::format("{}", f);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

std::string repr(const Value& v) {
  if (v.kind != Value::Kind::String) return to_text(v);
  std::string out = "'";
  for (char c : v.s) out += c == '\'' ? std::string("\\'") : c == '\\' ? std::string("\\\\") : c == '\n' ? std::string("\\n") : std::string(1, c);
  return out + "'";
}

void json_string(std::string& out, const std::string& s) {
  out += '"';
  for (unsigned char c : s) {
    if (c == '"') out += "\\\"";
    else if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c == '\b') out += "\\b";
    else if (c == '\f') out += "\\f";
    else if (c < 0x20) out += fmt::format("\\u{:04x}", c);
    else out += char(c);
  }
  out += '"';
}

void json_text(std::string& out, const Value& v, int indent, int depth) {
  const std::string item_sep = indent < 0 ? ", " : ",", newline = indent < 0 ? "" : "\n";
  auto pad = [&](int d) { return indent < 0 ? std::string() : std::string(size_t(indent * d), ' '); };
  switch (v.kind) {
    case Value::Kind::Undefined:
    case Value::Kind::None: out += "null"; return;
    case Value::Kind::Bool: out += v.b ? "true" : "false"; return;
    case Value::Kind::Int: out += std::to_string(v.i); return;
    case Value::Kind::Float: out += std::isfinite(v.f) ? float_text(v.f) : std::isnan(v.f) ? "NaN" : v.f > 0 ? "Infinity" : "-Infinity"; return;
    case Value::Kind::String: json_string(out, v.s); return;
    case Value::Kind::List:
      if (v.list->empty()) { out += "[]"; return; }
      out += "[" + newline;
      for (size_t i = 0; i < v.list->size(); ++i) {
        out += (i ? item_sep + newline : "") + pad(depth + 1);
        json_text(out, (*v.list)[i], indent, depth + 1);
      }
      out += newline + pad(depth) + "]";
      return;
    case Value::Kind::Dict:
      if (v.dict->empty()) { out += "{}"; return; }
      out += "{" + newline;
      for (size_t i = 0; i < v.dict->size(); ++i) {
        out += (i ? item_sep + newline : "") + pad(depth + 1);
        json_string(out, (*v.dict)[i].first);
        out += ": ";
        json_text(out, (*v.dict)[i].second, indent, depth + 1);
      }
      out += newline + pad(depth) + "}";
      return;
  }
}

}  // namespace

std::string to_text(const Value& v) {
  switch (v.kind) {
    case Value::Kind::Undefined: return "";
    case Value::Kind::None: return "None";
    case Value::Kind::Bool: return v.b ? "True" : "False";
    case Value::Kind::Int: return std::to_string(v.i);
    case Value::Kind::Float: return float_text(v.f);
    case Value::Kind::String: return v.s;
    case Value::Kind::List: {
      std::string out = "[";
      for (size_t i = 0; i < v.list->size(); ++i) out += (i ? ", " : "") + repr((*v.list)[i]);
      return out + "]";
    }
    case Value::Kind::Dict: {
      std::string out = "{";
      for (size_t i = 0; i < v.dict->size(); ++i)
        out += (i ? ", " : "") + repr(Value::string((*v.dict)[i].first)) + ": " + repr((*v.dict)[i].second);
      return out + "}";
    }
  }
  return "";
}

std::string to_json_text(const Value& v, int indent) {
  std::string out;
  json_text(out, v, indent, 0);
  return out;
}

}  // namespace mixq::io::jinja
