#pragma once
// FNV-1a (64-bit) over bytes: the calibration windows' identity and the quantized file's
// per-tensor checksums. Not cryptographic; it detects damage, not tampering.
#include <cstddef>
#include <cstdint>
#include <string>

namespace mixq {

inline constexpr uint64_t kFnv1aSeed = 14695981039346656037ull;  // the FNV-1a 64-bit offset basis

inline uint64_t fnv1a64(const uint8_t* data, size_t n, uint64_t h = kFnv1aSeed) {
  for (size_t i = 0; i < n; ++i) h = (h ^ data[i]) * 1099511628211ull;
  return h;
}

// "fnv1a64:" + 16 hex digits.
std::string fnv1a64_label(uint64_t h);

}  // namespace mixq
