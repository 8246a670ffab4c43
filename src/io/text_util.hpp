#pragma once
// Small text helpers the tokenizer.json components share.
#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "mixq/core/error.hpp"

namespace mixq::io {

// Bytes of the UTF-8 character whose first byte is `lead` (1 for a stray continuation byte).
inline size_t utf8_length(uint8_t lead) {
  return lead < 0xC0 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : 4;
}

// Calls fn(character) for each UTF-8 character of `text` (a truncated last one as it is).
template <typename Fn>
void for_each_char(std::string_view text, Fn&& fn) {
  for (size_t i = 0; i < text.size();) {
    const size_t n = std::min(utf8_length(uint8_t(text[i])), text.size() - i);
    fn(text.substr(i, n));
    i += n;
  }
}

// Every occurrence of `from` in s replaced by `to` (left to right, not rescanned).
inline void replace_all(std::string& s, std::string_view from, std::string_view to) {
  if (from.empty()) return;
  for (size_t p = 0; (p = s.find(from, p)) != std::string::npos; p += to.size()) s.replace(p, from.size(), to);
}

// The code point of one UTF-8 character (its bytes as a number when malformed: still unique).
inline uint32_t code_point(std::string_view ch) {
  if (ch.size() == 1) return uint8_t(ch[0]);
  uint32_t cp = uint8_t(ch[0]) & (0x7F >> ch.size());
  for (size_t k = 1; k < ch.size(); ++k) cp = cp << 6 | (uint8_t(ch[k]) & 0x3F);
  return cp;
}

// The byte a "<0xXX>" byte-fallback token names, -1 for any other string.
inline int byte_token_value(std::string_view t) {
  auto hex = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1; };
  if (t.size() != 6 || !t.starts_with("<0x") || t[5] != '>' || hex(t[3]) < 0 || hex(t[4]) < 0) return -1;
  return hex(t[3]) * 16 + hex(t[4]);
}

// "A, B, C": the names of a component table's rows, for "not supported (supported: ...)" errors.
template <typename Table>
std::string row_names(const Table& table) {
  std::string names;
  for (const auto& row : table) names += std::string(names.empty() ? "" : ", ") + row.name;
  return names;
}

// The component a tokenizer.json node describes, built by the row of `table` (rows: name, make)
// its "type" names; an unknown type is refused, naming it, `what` and `where`.
template <typename Table>
auto make_component(const Table& table, const nlohmann::json& node, const std::string& where, const char* what) {
  const std::string type = node.is_object() && node.contains("type") && node["type"].is_string() ? node["type"] : "";
  for (const auto& row : table)
    if (type == row.name) return row.make(node, where + ": " + what + " " + type);
  fail(where, "{} type '{}' is not supported (supported: {})", what, type, row_names(table));
}

// A token id in tokenizer.json: an integer in [0, 2^24), never a float cast.
inline int json_token_id(const nlohmann::json& v, const std::string& where) {
  if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() >= (int64_t(1) << 24))
    fail(where, "token id {} is not an integer in [0, 2^24)", v.dump());
  return int(v.get<int64_t>());
}

// Offset of the first byte of `text` that is not part of valid UTF-8, or npos.
size_t invalid_utf8_offset(std::string_view text);

}  // namespace mixq::io
