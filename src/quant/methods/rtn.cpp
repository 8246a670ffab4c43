#include "mixq/quant/methods/rtn.hpp"

#include <algorithm>
#include <cmath>

#include "mixq/core/error.hpp"
#include "mixq/formats/grid_quantizer.hpp"
#include "quant/methods/input_checks.hpp"
#include "mixq/quant/methods/method.hpp"

namespace mixq::quant {

formats::PackedTensor quantize_rtn(const Tensor& w, const RtnOptions& opt) {
  const auto& p = opt.format;
  p.validate();
  check_weight(w, "rtn");
  const int64_t rows = w.rows(), cols = w.cols(), groups = p.groups(cols), gs = p.group_size(cols);
  std::vector<uint8_t> codes(size_t(rows * cols));
  std::vector<float> scales(size_t(rows * groups)), zeros(size_t(rows * groups));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t g = 0; g < groups; ++g) {
      const int64_t begin = g * gs, len = std::min(cols, begin + gs) - begin;
      const float* src = &w.data[size_t(r * cols + begin)];
      const formats::GridQuantizer q = opt.mse_clip ? formats::GridQuantizer::fit_mse(src, size_t(len), 1, p.bits, p.symmetric)
                                           : formats::GridQuantizer::fit(src, size_t(len), 1, p.bits, p.symmetric);
      scales[size_t(r * groups + g)] = q.scale;
      zeros[size_t(r * groups + g)] = q.zero;
      for (int64_t i = 0; i < len; ++i) codes[size_t(r * cols + begin + i)] = q.code(src[i]);
    }
  return formats::UniformFormat::pack(rows, cols, codes, scales, zeros, p);
}

namespace {

formats::PackedTensor rtn_method(const Tensor& w, const LayerCalibration&, const MethodOptions& o) {
  return quantize_rtn(w, {o.get<UniformOptions>().format, o.mse_clip});
}

}  // namespace

const MethodInfo kRtnMethod = {"rtn",
                               "uniform",
                               ":BITS[:GROUP|row][+sym][+mse]",
                               /*takes_bits=*/true,
                               /*needs_calibration=*/false,
                               /*input_scorer=*/nullptr,
                               &parse_uniform_options,
                               &uniform_spec_tail,
                               &validate_uniform_options,
                               &uniform_params_json,
                               &uniform_label,
                               &rtn_method,
                                nullptr};

}  // namespace mixq::quant
