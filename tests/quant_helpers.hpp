#pragma once
// Helpers shared by the quantization tests.
#include <vector>

#include "mixq/quant/formats/registry.hpp"

namespace mixq::test {

// tr(ΔW H ΔWᵀ) with ΔW = Ŵ − W: the layer-output error ‖(W − Ŵ) X‖² up to H's factor 2/N.
inline double output_error(const Tensor& w, const quant::PackedTensor& q, const std::vector<double>& h) {
  const int64_t rows = w.rows(), cols = w.cols();
  std::vector<float> deq(static_cast<size_t>(rows * cols));
  quant::format_ops(q.format).dequantize_rows(q, 0, rows, deq.data());
  double total = 0;
  std::vector<double> d(static_cast<size_t>(cols));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t i = 0; i < cols; ++i) d[size_t(i)] = double(deq[size_t(r * cols + i)]) - w.data[size_t(r * cols + i)];
    for (int64_t i = 0; i < cols; ++i) {
      double hd = 0;
      for (int64_t j = 0; j < cols; ++j) hd += h[size_t(i * cols + j)] * d[size_t(j)];
      total += d[size_t(i)] * hd;
    }
  }
  return total;
}

}  // namespace mixq::test
