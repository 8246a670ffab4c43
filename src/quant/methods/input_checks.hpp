#pragma once
// The checks every method makes on its inputs before any work, so each reports bad input the
// same way: a 2-D weight of finite values, and (for methods that use one) a [cols][cols] Hessian.
#include <cmath>
#include <string>
#include <vector>

#include "mixq/core/error.hpp"
#include "mixq/core/tensor.hpp"

namespace mixq::quant {

inline void check_weight(const Tensor& w, const std::string& where) {
  if (w.shape.size() != 2) fail(where, "expects a 2-D weight, got shape {}", shape_string(w.shape));
  for (float v : w.data)
    if (!std::isfinite(v)) fail(where, "weight holds a non-finite value ({})", v);
}

inline void check_hessian(const std::vector<double>& h, int64_t cols, const std::string& where) {
  if (h.size() != size_t(cols * cols)) fail(where, "Hessian of {} values does not match {} input columns", h.size(), cols);
}

}  // namespace mixq::quant
