#include "text_util.hpp"

namespace mixq::io {

size_t invalid_utf8_offset(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const auto lead = uint8_t(text[i]);
    const size_t n = utf8_length(lead);
    if (lead >= 0x80 && (n == 1 || lead > 0xF4 || i + n > text.size())) return i;
    uint32_t cp = n == 1 ? lead : lead & (0x7F >> n);
    for (size_t k = 1; k < n; ++k) {
      if ((uint8_t(text[i + k]) & 0xC0) != 0x80) return i;
      cp = cp << 6 | (uint8_t(text[i + k]) & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;  // overlong, surrogate
    i += n;
  }
  return std::string_view::npos;
}

}  // namespace mixq::io
