#pragma once
// A Unicode regular expression (PCRE2, UTF + Unicode properties, JIT-compiled): what tokenizer.json
// Split patterns such as Llama-3's and Qwen's need (\p{L}, \p{N}, (?i:...), lookahead).
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace mixq::io {

class UnicodeRegex {
 public:
  // `where` names the pattern's origin in errors (a bad pattern is refused here, not at match time).
  UnicodeRegex(const std::string& pattern, const std::string& where);
  ~UnicodeRegex();
  UnicodeRegex(UnicodeRegex&&) noexcept;
  // Calls fn(begin, end) for each non-overlapping, non-empty match in `text` (valid UTF-8), left
  // to right.
  void for_each_match(std::string_view text, const std::function<void(size_t, size_t)>& fn) const;
  // `text` with every match replaced by `content`.
  std::string replace_matches(std::string_view text, std::string_view content) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The regex-escaped form of a literal string (tokenizer.json's {"String": ...} patterns).
std::string regex_escape(std::string_view literal);

// tokenizer.json's {"String": s} (matched literally) or {"Regex": r} pattern as a regex.
UnicodeRegex regex_from_pattern(const nlohmann::json& pattern, const std::string& where);

}  // namespace mixq::io
