#pragma once
// Values of the chat-template engine (chat_template.cpp): Jinja's data model as Python holds it —
// undefined, none, booleans, integers, floats, strings, lists and ordered dicts (a namespace() is a
// dict assigned by reference) — with Python's truthiness, equality, ordering and printing.
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace mixq::io::jinja {

struct Value;
using List = std::vector<Value>;
using Dict = std::vector<std::pair<std::string, Value>>;  // insertion order, as Python's dict

struct Value {
  enum class Kind { Undefined, None, Bool, Int, Float, String, List, Dict };
  Kind kind = Kind::Undefined;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;
  std::shared_ptr<List> list;  // shared: a list or namespace is one object wherever it is referenced
  std::shared_ptr<Dict> dict;

  static Value none() { return with(Kind::None); }
  static Value boolean(bool v) { Value x = with(Kind::Bool); x.b = v; return x; }
  static Value integer(int64_t v) { Value x = with(Kind::Int); x.i = v; return x; }
  static Value number(double v) { Value x = with(Kind::Float); x.f = v; return x; }
  static Value string(std::string v) { Value x = with(Kind::String); x.s = std::move(v); return x; }
  static Value new_list(List items = {}) { Value x = with(Kind::List); x.list = std::make_shared<List>(std::move(items)); return x; }
  static Value new_dict(Dict items = {}) { Value x = with(Kind::Dict); x.dict = std::make_shared<Dict>(std::move(items)); return x; }
  static Value from_json(const nlohmann::json& j);

  bool defined() const { return kind != Kind::Undefined; }
  bool is_number() const { return kind == Kind::Int || kind == Kind::Float; }
  double as_double() const { return kind == Kind::Int ? double(i) : f; }
  // dict[key], or Undefined.
  Value get(const std::string& key) const;
  void set(const std::string& key, Value v);

 private:
  static Value with(Kind k) { Value x; x.kind = k; return x; }
};

const char* kind_name(Value::Kind k);
bool truthy(const Value& v);
bool equal(const Value& a, const Value& b);
// a < b for two numbers or two strings; Error otherwise.
bool less(const Value& a, const Value& b, const std::string& where);
// A string's characters (Python indexes, slices and counts code points, not bytes).
std::vector<std::string> characters(const std::string& s);

// What {{ v }} prints: Python's str() (None, True, 1.0, ['a', 1]); Undefined prints nothing.
std::string to_text(const Value& v);
// Python's json.dumps(v, ensure_ascii=False), as transformers' tojson filter.
std::string to_json_text(const Value& v, int indent = -1);

}  // namespace mixq::io::jinja
