#pragma once
// Options that are words on the command line and in files but an `enum class` in the code: each
// enum has one table of names, read by the parser, the printer, the CLI's choices and the error
// messages alike. A value's first row is its name; later rows for it are aliases still read (old
// files, old specs) but never written. An enum E declares its table beside itself as
//   constexpr std::span<const EnumName<E>> enum_table(E) { ... }
// which the functions below find by argument-dependent lookup.
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mixq/core/error.hpp"

namespace mixq {

template <typename E>
struct EnumName {
  E value;
  const char* name;
};

// The names of a table's values (aliases left out), "a, b or c".
template <typename E>
std::string enum_choices() {
  const std::span<const EnumName<E>> table = enum_table(E{});
  std::string out;
  size_t n = 0;
  for (size_t i = 0; i < table.size(); ++i) {
    bool alias = false;
    for (size_t j = 0; j < i; ++j) alias = alias || table[j].value == table[i].value;
    if (alias) continue;
    out += (n == 0 ? "" : ", ") + std::string(table[i].name);
    ++n;
  }
  const size_t last = out.rfind(", ");
  return last == std::string::npos ? out : out.replace(last, 2, " or ");
}

// The value named `name` (a name or an alias); Error naming `where` and the choices otherwise.
template <typename E>
E parse_enum(std::string_view name, const std::string& where) {
  for (const auto& row : enum_table(E{}))
    if (name == row.name) return row.value;
  fail(where, "'{}' is not one of {}", name, enum_choices<E>());
}

// True when `name` is a name or alias of some value of E.
template <typename E>
bool is_enum_name(std::string_view name) {
  for (const auto& row : enum_table(E{}))
    if (name == row.name) return true;
  return false;
}

// The name of `value` (its first row).
template <typename E>
const char* enum_name(E value) {
  for (const auto& row : enum_table(E{}))
    if (row.value == value) return row.name;
  fail("enum_name", "value {} has no name", int(value));
}

// A spec flag naming one value of an option ("kl-fp-q" with prefix "kl-"): true and `out` set
// when `flag` is `prefix` + a name or alias of E, else false and `out` untouched.
template <typename E>
bool parse_prefixed_enum(std::string_view flag, std::string_view prefix, E& out) {
  if (!flag.starts_with(prefix) || !is_enum_name<E>(flag.substr(prefix.size()))) return false;
  out = parse_enum<E>(flag.substr(prefix.size()), std::string(prefix));
  return true;
}

// Every name and alias, for a CLI option's allowed values.
template <typename E>
std::vector<std::string> enum_names() {
  std::vector<std::string> out;
  for (const auto& row : enum_table(E{})) out.emplace_back(row.name);
  return out;
}

// Every name and alias → value, for CLI11's CheckedTransformer.
template <typename E>
std::map<std::string, E> enum_map() {
  std::map<std::string, E> out;
  for (const auto& row : enum_table(E{})) out.emplace(row.name, row.value);
  return out;
}

}  // namespace mixq
