#pragma once
// Round-to-nearest: each (row, group) gets its own min-max grid (optionally with GPTQ's
// shrink search), every weight rounded independently. The baseline every other method must beat.
#include "mixq/core/tensor.hpp"
#include "mixq/formats/uniform.hpp"
#include "mixq/quant/methods/method_row.hpp"

namespace mixq::quant {

struct RtnOptions {
  formats::UniformParams format;
  bool mse_clip = false;  // search the clipping range minimizing squared error
};

formats::PackedTensor quantize_rtn(const Tensor& w, const RtnOptions& opt);

// The method table's row "rtn" (options: UniformOptions).
extern const MethodInfo kRtnMethod;

}  // namespace mixq::quant
