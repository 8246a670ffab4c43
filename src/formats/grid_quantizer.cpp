#include "mixq/formats/grid_quantizer.hpp"

#include <algorithm>
#include <cmath>

#include "mixq/core/half.hpp"

namespace mixq::formats {

GridQuantizer GridQuantizer::fit(const float* w, size_t n, size_t stride, int bits, bool symmetric, float shrink) {
  GridQuantizer g;
  g.maxq = (1 << bits) - 1;
  float lo = 0.f, hi = 0.f;
  for (size_t i = 0; i < n; ++i) {
    lo = std::min(lo, w[i * stride]);
    hi = std::max(hi, w[i * stride]);
  }
  lo *= shrink;
  hi *= shrink;
  if (symmetric) {
    hi = std::max(-lo, hi);
    lo = -hi;
  }
  if (lo == 0.f && hi == 0.f) {  // an all-zero group: any grid represents it exactly
    lo = -1.f;
    hi = 1.f;
  }
  g.scale = f16_to_f32(f32_to_f16((hi - lo) / float(g.maxq)));
  if (g.scale == 0.f) g.scale = f16_to_f32(1);  // range below fp16's smallest step
  g.zero = symmetric ? float((g.maxq + 1) / 2) : std::round(-lo / g.scale);
  g.zero = std::clamp(g.zero, 0.f, float(g.maxq));
  return g;
}

GridQuantizer GridQuantizer::fit_mse(const float* w, size_t n, size_t stride, int bits, bool symmetric) {
  GridQuantizer best = fit(w, n, stride, bits, symmetric);
  double best_err = INFINITY;
  for (int step = 0; step < 80; ++step) {  // GPTQ's grid: shrink 1 − i/100 for i < 0.8 × 100
    const float shrink = 1.f - float(step) / 100.f;
    const GridQuantizer g = fit(w, n, stride, bits, symmetric, shrink);
    double err = 0;
    for (size_t i = 0; i < n; ++i) {
      const double e = double(g.value(g.code(w[i * stride]))) - w[i * stride];
      err += e * e;
    }
    if (err < best_err) {
      best_err = err;
      best = g;
    }
  }
  return best;
}

uint8_t GridQuantizer::code(float w) const {
  const float q = std::nearbyint(w / scale) + zero;
  return uint8_t(std::clamp(q, 0.f, float(maxq)));
}

}  // namespace mixq::formats
