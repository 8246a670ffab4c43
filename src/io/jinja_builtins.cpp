#include "jinja_builtins.hpp"

#include <algorithm>
#include <ctime>

#include "mixq/core/error.hpp"

namespace mixq::io::jinja {
namespace {

constexpr const char* kSpace = " \t\n\r\f\v";

const Value& arg(const Args& args, size_t i, const std::string& where, const char* what) {
  if (i >= args.size()) fail(where, "{} needs argument {}", what, i + 1);
  return args[i];
}

const std::string& string_arg(const Args& args, size_t i, const std::string& where, const char* what) {
  const Value& v = arg(args, i, where, what);
  if (v.kind != Value::Kind::String) fail(where, "{}: argument {} must be a string, got {}", what, i + 1, kind_name(v.kind));
  return v.s;
}

const std::string& self_string(const Value& v, const std::string& where, const char* what) {
  if (v.kind != Value::Kind::String) fail(where, "{} applies to a string, not a {}", what, kind_name(v.kind));
  return v.s;
}

// Python's str.strip/lstrip/rstrip: `chars` (default: whitespace) removed from the chosen ends.
std::string strip(const std::string& s, const Args& args, bool left, bool right, const std::string& where) {
  const std::string chars = args.empty() || args[0].kind == Value::Kind::None ? kSpace : string_arg(args, 0, where, "strip");
  size_t b = 0, e = s.size();
  if (left) b = std::min(s.find_first_not_of(chars), s.size());
  if (right) e = b == s.size() ? b : s.find_last_not_of(chars) + 1;
  if (right && e < b) e = b;
  return s.substr(b, e - b);
}

Value split(const std::string& s, const Args& args, const std::string& where) {
  List out;
  if (args.empty() || args[0].kind == Value::Kind::None) {  // runs of whitespace, no empty pieces
    size_t i = s.find_first_not_of(kSpace);
    while (i != std::string::npos) {
      const size_t e = s.find_first_of(kSpace, i);
      out.push_back(Value::string(s.substr(i, e - i)));
      i = e == std::string::npos ? e : s.find_first_not_of(kSpace, e);
    }
    return Value::new_list(std::move(out));
  }
  const std::string& sep = string_arg(args, 0, where, "split");
  if (sep.empty()) fail(where, "split: empty separator");
  size_t start = 0;
  for (size_t at; (at = s.find(sep, start)) != std::string::npos; start = at + sep.size())
    out.push_back(Value::string(s.substr(start, at - start)));
  out.push_back(Value::string(s.substr(start)));
  return Value::new_list(std::move(out));
}

std::string replace(const std::string& s, const Args& args, const std::string& where) {
  const std::string& from = string_arg(args, 0, where, "replace");
  const std::string& to = string_arg(args, 1, where, "replace");
  int64_t count = args.size() > 2 && args[2].kind == Value::Kind::Int ? args[2].i : -1;
  if (from.empty()) fail(where, "replace: empty pattern");
  std::string out;
  size_t start = 0;
  for (size_t at; count != 0 && (at = s.find(from, start)) != std::string::npos; start = at + from.size(), --count)
    out += s.substr(start, at - start) + to;
  return out + s.substr(start);
}

std::string change_case(std::string s, int mode) {  // 0 lower, 1 upper, 2 capitalize, 3 title
  bool word_start = true;
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const bool upper = mode == 1 || (mode == 2 && i == 0) || (mode == 3 && word_start);
    s[i] = char(upper ? std::toupper(c) : std::tolower(c));
    word_start = !std::isalnum(c);
  }
  return s;
}

Value length(const Value& v, const std::string& where) {
  switch (v.kind) {
    case Value::Kind::String: return Value::integer(int64_t(characters(v.s).size()));
    case Value::Kind::List: return Value::integer(int64_t(v.list->size()));
    case Value::Kind::Dict: return Value::integer(int64_t(v.dict->size()));
    case Value::Kind::Undefined: return Value::integer(0);
    default: fail(where, "length of a {}", kind_name(v.kind));
  }
}

Value items(const Value& v, const std::string& where) {
  if (v.kind != Value::Kind::Dict) fail(where, "items() of a {}, not a dict", kind_name(v.kind));
  List out;
  for (const auto& [k, x] : *v.dict) out.push_back(Value::new_list({Value::string(k), x}));
  return Value::new_list(std::move(out));
}

Value kwarg(const Kwargs& kwargs, const char* name) {
  for (const auto& [k, v] : kwargs)
    if (k == name) return v;
  return Value();
}

using FilterFn = Value (*)(const Value&, const Args&, const Kwargs&, const std::string&);
struct Filter {
  const char* name;
  FilterFn fn;
};

const Filter kFilters[] = {
    {"length", [](const Value& v, const Args&, const Kwargs&, const std::string& w) { return length(v, w); }},
    {"count", [](const Value& v, const Args&, const Kwargs&, const std::string& w) { return length(v, w); }},
    {"trim", [](const Value& v, const Args& a, const Kwargs&, const std::string& w) {
       return Value::string(strip(self_string(v, w, "trim"), a, true, true, w));
     }},
    {"upper", [](const Value& v, const Args&, const Kwargs&, const std::string& w) { return Value::string(change_case(self_string(v, w, "upper"), 1)); }},
    {"lower", [](const Value& v, const Args&, const Kwargs&, const std::string& w) { return Value::string(change_case(self_string(v, w, "lower"), 0)); }},
    {"capitalize", [](const Value& v, const Args&, const Kwargs&, const std::string& w) { return Value::string(change_case(self_string(v, w, "capitalize"), 2)); }},
    {"title", [](const Value& v, const Args&, const Kwargs&, const std::string& w) { return Value::string(change_case(self_string(v, w, "title"), 3)); }},
    {"string", [](const Value& v, const Args&, const Kwargs&, const std::string&) { return Value::string(to_text(v)); }},
    {"safe", [](const Value& v, const Args&, const Kwargs&, const std::string&) { return v; }},
    {"tojson", [](const Value& v, const Args&, const Kwargs& k, const std::string&) {
       const Value indent = kwarg(k, "indent");
       return Value::string(to_json_text(v, indent.kind == Value::Kind::Int ? int(std::clamp<int64_t>(indent.i, 0, 64)) : -1));
     }},
    {"items", [](const Value& v, const Args&, const Kwargs&, const std::string& w) { return items(v, w); }},
    {"list", [](const Value& v, const Args&, const Kwargs&, const std::string& w) {
       if (v.kind == Value::Kind::List) return Value::new_list(*v.list);
       if (v.kind != Value::Kind::String) fail(w, "list of a {}", kind_name(v.kind));
       List out;
       for (const auto& c : characters(v.s)) out.push_back(Value::string(c));
       return Value::new_list(std::move(out));
     }},
    {"first", [](const Value& v, const Args&, const Kwargs&, const std::string&) {
       return v.kind == Value::Kind::List && !v.list->empty() ? v.list->front() : Value();
     }},
    {"last", [](const Value& v, const Args&, const Kwargs&, const std::string&) {
       return v.kind == Value::Kind::List && !v.list->empty() ? v.list->back() : Value();
     }},
    {"reverse", [](const Value& v, const Args&, const Kwargs&, const std::string& w) {
       if (v.kind == Value::Kind::String) {
         const auto chars = characters(v.s);
         std::string out;
         for (auto it = chars.rbegin(); it != chars.rend(); ++it) out += *it;
         return Value::string(out);
       }
       if (v.kind != Value::Kind::List) fail(w, "reverse of a {}", kind_name(v.kind));
       return Value::new_list(List(v.list->rbegin(), v.list->rend()));
     }},
    {"join", [](const Value& v, const Args& a, const Kwargs&, const std::string& w) {
       if (v.kind != Value::Kind::List) fail(w, "join of a {}", kind_name(v.kind));
       const std::string sep = a.empty() ? "" : to_text(a[0]);
       std::string out;
       for (size_t i = 0; i < v.list->size(); ++i) out += (i ? sep : "") + to_text((*v.list)[i]);
       return Value::string(out);
     }},
    {"default", [](const Value& v, const Args& a, const Kwargs&, const std::string&) {
       const bool falsy_too = a.size() > 1 && truthy(a[1]);
       return (v.defined() && (!falsy_too || truthy(v))) ? v : (a.empty() ? Value::string("") : a[0]);
     }},
    {"int", [](const Value& v, const Args&, const Kwargs&, const std::string&) {
       if (v.kind == Value::Kind::Float) return Value::integer(int64_t(v.f));
       if (v.kind == Value::Kind::Bool) return Value::integer(v.b);
       if (v.kind == Value::Kind::String) {
         try {
           return Value::integer(std::stoll(v.s));
         } catch (...) {
           return Value::integer(0);
         }
       }
       return v.kind == Value::Kind::Int ? v : Value::integer(0);
     }},
    {"replace", [](const Value& v, const Args& a, const Kwargs&, const std::string& w) {
       return Value::string(replace(self_string(v, w, "replace"), a, w));
     }},
};

using TestFn = bool (*)(const Value&, const Args&);
struct Test {
  const char* name;
  TestFn fn;
};

const Test kTests[] = {
    {"defined", [](const Value& v, const Args&) { return v.defined(); }},
    {"undefined", [](const Value& v, const Args&) { return !v.defined(); }},
    {"none", [](const Value& v, const Args&) { return v.kind == Value::Kind::None; }},
    {"boolean", [](const Value& v, const Args&) { return v.kind == Value::Kind::Bool; }},
    {"true", [](const Value& v, const Args&) { return v.kind == Value::Kind::Bool && v.b; }},
    {"false", [](const Value& v, const Args&) { return v.kind == Value::Kind::Bool && !v.b; }},
    {"string", [](const Value& v, const Args&) { return v.kind == Value::Kind::String; }},
    {"number", [](const Value& v, const Args&) { return v.is_number(); }},
    {"integer", [](const Value& v, const Args&) { return v.kind == Value::Kind::Int; }},
    {"float", [](const Value& v, const Args&) { return v.kind == Value::Kind::Float; }},
    {"mapping", [](const Value& v, const Args&) { return v.kind == Value::Kind::Dict; }},
    {"sequence", [](const Value& v, const Args&) { return v.kind == Value::Kind::List || v.kind == Value::Kind::String; }},
    {"iterable", [](const Value& v, const Args&) {
       return v.kind == Value::Kind::List || v.kind == Value::Kind::String || v.kind == Value::Kind::Dict;
     }},
    {"odd", [](const Value& v, const Args&) { return v.kind == Value::Kind::Int && v.i % 2 != 0; }},
    {"even", [](const Value& v, const Args&) { return v.kind == Value::Kind::Int && v.i % 2 == 0; }},
    {"eq", [](const Value& v, const Args& a) { return !a.empty() && equal(v, a[0]); }},
    {"equalto", [](const Value& v, const Args& a) { return !a.empty() && equal(v, a[0]); }},
    {"ne", [](const Value& v, const Args& a) { return a.empty() || !equal(v, a[0]); }},
};

using MethodFn = Value (*)(const Value&, const Args&, const std::string&);
struct Method {
  const char* name;
  Value::Kind on;
  MethodFn fn;
};

const Method kMethods[] = {
    {"strip", Value::Kind::String, [](const Value& v, const Args& a, const std::string& w) { return Value::string(strip(v.s, a, true, true, w)); }},
    {"lstrip", Value::Kind::String, [](const Value& v, const Args& a, const std::string& w) { return Value::string(strip(v.s, a, true, false, w)); }},
    {"rstrip", Value::Kind::String, [](const Value& v, const Args& a, const std::string& w) { return Value::string(strip(v.s, a, false, true, w)); }},
    {"split", Value::Kind::String, [](const Value& v, const Args& a, const std::string& w) { return split(v.s, a, w); }},
    {"startswith", Value::Kind::String, [](const Value& v, const Args& a, const std::string& w) {
       return Value::boolean(v.s.starts_with(string_arg(a, 0, w, "startswith")));
     }},
    {"endswith", Value::Kind::String, [](const Value& v, const Args& a, const std::string& w) {
       return Value::boolean(v.s.ends_with(string_arg(a, 0, w, "endswith")));
     }},
    {"upper", Value::Kind::String, [](const Value& v, const Args&, const std::string&) { return Value::string(change_case(v.s, 1)); }},
    {"lower", Value::Kind::String, [](const Value& v, const Args&, const std::string&) { return Value::string(change_case(v.s, 0)); }},
    {"capitalize", Value::Kind::String, [](const Value& v, const Args&, const std::string&) { return Value::string(change_case(v.s, 2)); }},
    {"title", Value::Kind::String, [](const Value& v, const Args&, const std::string&) { return Value::string(change_case(v.s, 3)); }},
    {"replace", Value::Kind::String, [](const Value& v, const Args& a, const std::string& w) { return Value::string(replace(v.s, a, w)); }},
    {"items", Value::Kind::Dict, [](const Value& v, const Args&, const std::string& w) { return items(v, w); }},
    {"keys", Value::Kind::Dict, [](const Value& v, const Args&, const std::string&) {
       List out;
       for (const auto& [k, x] : *v.dict) out.push_back(Value::string(k));
       return Value::new_list(std::move(out));
     }},
    {"values", Value::Kind::Dict, [](const Value& v, const Args&, const std::string&) {
       List out;
       for (const auto& [k, x] : *v.dict) out.push_back(x);
       return Value::new_list(std::move(out));
     }},
    {"get", Value::Kind::Dict, [](const Value& v, const Args& a, const std::string& w) {
       const Value got = v.get(string_arg(a, 0, w, "get"));
       return got.defined() ? got : a.size() > 1 ? a[1] : Value::none();
     }},
};

}  // namespace

Value apply_filter(const std::string& name, const Value& v, const Args& args, const Kwargs& kwargs, const std::string& where) {
  const std::string n = name == "d" ? "default" : name;
  for (const Filter& f : kFilters)
    if (n == f.name) return f.fn(v, args, kwargs, where);
  fail(where, "unknown filter '{}'", name);
}

bool apply_test(const std::string& name, const Value& v, const Args& args, const std::string& where) {
  for (const Test& t : kTests)
    if (name == t.name) return t.fn(v, args);
  fail(where, "unknown test '{}'", name);
}

Value call_method(const Value& object, const std::string& name, const Args& args, const Kwargs&, const std::string& where) {
  for (const Method& m : kMethods)
    if (name == m.name && object.kind == m.on) return m.fn(object, args, where);
  fail(where, "a {} has no method '{}'", kind_name(object.kind), name);
}

Value call_function(const std::string& name, const Args& args, const Kwargs& kwargs, const std::string& where) {
  if (name == "namespace") {
    Value ns = Value::new_dict();
    for (const auto& [k, v] : kwargs) ns.set(k, v);
    return ns;
  }
  if (name == "raise_exception")
    fail(where, "the chat template refused the messages: {}", args.empty() ? "" : to_text(args[0]));
  if (name == "range") {
    int64_t lo = 0, hi = 0, step = 1;
    for (const Value& a : args)
      if (a.kind != Value::Kind::Int) fail(where, "range: arguments must be integers");
    if (args.size() == 1) hi = args[0].i;
    else if (args.size() >= 2) lo = args[0].i, hi = args[1].i;
    if (args.size() >= 3) step = args[2].i;
    if (args.empty() || step == 0) fail(where, "range: needs a stop and a non-zero step");
    List out;
    for (int64_t i = lo; step > 0 ? i < hi : i > hi; i += step) {
      if (out.size() >= 100000) fail(where, "range of more than 100000 items");
      out.push_back(Value::integer(i));
    }
    return Value::new_list(std::move(out));
  }
  if (name == "strftime_now") {  // transformers' global for templates that print today's date
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    localtime_r(&now, &tm);
    char buf[256];
    const std::string fmt = args.empty() ? "%d %B %Y" : to_text(args[0]);
    return Value::string(std::string(buf, std::strftime(buf, sizeof buf, fmt.c_str(), &tm)));
  }
  fail(where, "unknown function '{}'", name);
}

}  // namespace mixq::io::jinja
