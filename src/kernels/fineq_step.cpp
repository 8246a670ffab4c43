#include "mixq/kernels/fineq_step.hpp"

#include <cmath>

namespace mixq::kernels {

float fineq_best_mode_error_reference(const float* v, int64_t n, float delta, const formats::FineqGrids& g,
                                      const float* importance) {
  float total = 0;
  for (int64_t c = 0; c < n; c += 3) {
    const float* imp = importance ? importance + c : nullptr;
    float best = INFINITY;
    for (int mode = -1; mode < 3; ++mode) {
      float e;
      formats::fineq_encode(v + c, delta, mode, g, &e, imp);
      if (e < best) best = e;
    }
    total += best;
  }
  return total;
}

}  // namespace mixq::kernels
