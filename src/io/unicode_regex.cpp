#define PCRE2_CODE_UNIT_WIDTH 8
#include "unicode_regex.hpp"

#include <pcre2.h>

#include "mixq/core/error.hpp"

namespace mixq::io {

struct UnicodeRegex::Impl {
  pcre2_code* code = nullptr;
  bool jit = false;
  ~Impl() { pcre2_code_free(code); }
};

UnicodeRegex::UnicodeRegex(const std::string& pattern, const std::string& where) : impl_(std::make_unique<Impl>()) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  // UCP: \s, \w, \d and case folding follow Unicode properties, as Oniguruma's (the library
  // tokenizers uses) do for UTF-8 patterns.
  impl_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), PCRE2_UTF | PCRE2_UCP,
                              &error, &offset, nullptr);
  if (!impl_->code) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error, message, sizeof message);
    fail(where, "regex '{}': {} at offset {}", pattern, reinterpret_cast<const char*>(message), size_t(offset));
  }
  impl_->jit = pcre2_jit_compile(impl_->code, PCRE2_JIT_COMPLETE) == 0;
}

UnicodeRegex::~UnicodeRegex() = default;
UnicodeRegex::UnicodeRegex(UnicodeRegex&&) noexcept = default;

void UnicodeRegex::for_each_match(std::string_view text, const std::function<void(size_t, size_t)>& fn) const {
  // One match-data block per call: a tokenizer may be shared by threads.
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> md(
      pcre2_match_data_create_from_pattern(impl_->code, nullptr), &pcre2_match_data_free);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t pos = 0;
  // The text was checked as UTF-8 once by the caller: no per-match check.
  uint32_t options = PCRE2_NO_UTF_CHECK;
  while (pos < text.size()) {
    const int rc = impl_->jit ? pcre2_jit_match(impl_->code, subject, text.size(), pos, options, md.get(), nullptr)
                              : pcre2_match(impl_->code, subject, text.size(), pos, options, md.get(), nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) return;
    if (rc < 0) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(rc, message, sizeof message);
      fail("regex", "match failed: {}", reinterpret_cast<const char*>(message));
    }
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md.get());
    const size_t begin = ov[0], end = ov[1];
    if (end > begin) {
      fn(begin, end);
      pos = end;
    } else {
      // An empty match yields nothing; step over one whole UTF-8 character.
      pos = begin + 1;
      while (pos < text.size() && (uint8_t(text[pos]) & 0xC0) == 0x80) ++pos;
    }
  }
}

std::string UnicodeRegex::replace_matches(std::string_view text, std::string_view content) const {
  std::string out;
  size_t last = 0;
  for_each_match(text, [&](size_t b, size_t e) {
    out.append(text.substr(last, b - last));
    out += content;
    last = e;
  });
  out.append(text.substr(last));
  return out;
}

UnicodeRegex regex_from_pattern(const nlohmann::json& pattern, const std::string& where) {
  if (pattern.is_object() && pattern.contains("String") && pattern["String"].is_string())
    return UnicodeRegex(regex_escape(pattern["String"].get<std::string>()), where);
  if (pattern.is_object() && pattern.contains("Regex") && pattern["Regex"].is_string())
    return UnicodeRegex(pattern["Regex"].get<std::string>(), where);
  fail(where, "pattern must be {{\"String\": ...}} or {{\"Regex\": ...}}");
}

std::string regex_escape(std::string_view literal) {
  std::string out;
  for (char c : literal) {
    if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

}  // namespace mixq::io
