#pragma once
// A linear layer running directly on a packed (quantized) weight through the format table's
// kernels; the model never sees the bit layout.
#include "mixq/model/linear.hpp"
#include "mixq/quant/formats/registry.hpp"

namespace mixq::model {

class PackedLinear final : public Linear {
 public:
  explicit PackedLinear(quant::PackedTensor t);
  size_t rows() const override { return size_t(t_.rows); }
  size_t cols() const override { return size_t(t_.cols); }
  void forward(const float* x, size_t n, float* y, ThreadPool& pool) const override;
  size_t weight_bytes() const override { return t_.total_bytes(); }
  std::string format_name() const override { return t_.format; }
  const quant::PackedTensor& packed() const { return t_; }

 private:
  quant::PackedTensor t_;
  const quant::FormatOps* ops_;
};

}  // namespace mixq::model
