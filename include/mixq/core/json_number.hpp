#pragma once
// Numbers read from untrusted JSON (configs, quantized-file metadata). nlohmann's get<int>()
// converts with a plain cast: a float such as 1e40 becomes undefined behaviour and an integer
// past the type's range wraps silently. These accept only what fits and name the key otherwise.
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include <nlohmann/json.hpp>

#include "mixq/core/error.hpp"

namespace mixq {

// An integer in [lo, hi].
inline int64_t json_integer(const nlohmann::json& v, const std::string& where, const char* key,
                            int64_t lo = std::numeric_limits<int32_t>::min(),
                            int64_t hi = std::numeric_limits<int32_t>::max()) {
  if (!v.is_number_integer()) fail(where, "'{}' must be an integer, got {}", key, v.dump());
  const bool huge = v.is_number_unsigned() && v.get<uint64_t>() > uint64_t(std::numeric_limits<int64_t>::max());
  const int64_t x = huge ? hi : v.get<int64_t>();
  if (huge || x < lo || x > hi) fail(where, "'{}' = {} is outside [{}, {}]", key, v.dump(), lo, hi);
  return x;
}

inline int json_int(const nlohmann::json& v, const std::string& where, const char* key) {
  return int(json_integer(v, where, key));
}

// A finite number that fits a float.
inline float json_float(const nlohmann::json& v, const std::string& where, const char* key) {
  if (!v.is_number()) fail(where, "'{}' must be a number, got {}", key, v.dump());
  const double d = v.get<double>();
  if (!std::isfinite(d) || std::fabs(d) > double(std::numeric_limits<float>::max()))
    fail(where, "'{}' = {} is not a finite float", key, v.dump());
  return float(d);
}

}  // namespace mixq
