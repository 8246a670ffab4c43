#pragma once
// The asymmetric/symmetric min-max grid quantizer of GPTQ (Frantar et al.), shared by RTN and
// GPTQ: codes q ∈ [0, 2^b − 1], w ≈ scale · (q − zero). The scale is rounded to fp16 *before*
// codes are chosen, so what is stored is exactly what the codes were fitted to.
#include <cstddef>
#include <cstdint>

namespace mixq::formats {

struct GridQuantizer {
  float scale = 1.f;  // fp16-representable
  float zero = 0.f;   // integer-valued
  int maxq = 0;       // 2^bits − 1

  // Fits to n values w[0], w[stride], …: range [min(w, 0), max(w, 0)] (symmetric: ±absmax),
  // shrunk by `shrink` ∈ (0, 1].
  static GridQuantizer fit(const float* w, size_t n, size_t stride, int bits, bool symmetric, float shrink = 1.f);
  // Like fit, but searches the shrink factor (1.00, 0.99, …, 0.21: GPTQ's "mse" option)
  // minimizing the squared error of the n values.
  static GridQuantizer fit_mse(const float* w, size_t n, size_t stride, int bits, bool symmetric);

  uint8_t code(float w) const;
  float value(uint8_t q) const { return scale * (float(q) - zero); }
};

}  // namespace mixq::formats
