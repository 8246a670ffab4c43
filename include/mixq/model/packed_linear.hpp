#pragma once
// A linear layer running directly on a packed (quantized) weight; the model never sees the bit
// layout. One token (decode) runs the interleaved int8-activation kernel when the format has an
// affine form that fits it (kernels/interleaved.hpp); a batch (prompt) dequantizes slabs of rows
// and multiplies them with BLAS.
#include <optional>
#include <span>

#include "mixq/formats/registry.hpp"
#include "mixq/kernels/interleaved.hpp"
#include "mixq/model/linear.hpp"

namespace mixq::model {

class PackedLinear final : public Linear {
 public:
  explicit PackedLinear(formats::PackedTensor t);
  size_t rows() const override { return size_t(t_.rows); }
  size_t cols() const override { return size_t(t_.cols); }
  void forward(const float* x, size_t n, float* y, ThreadPool& pool) const override;
  size_t weight_bytes() const override { return t_.total_bytes(); }
  std::string format_name() const override { return t_.format; }
  const formats::PackedTensor& packed() const { return t_; }
  // The repacked copy the one-token kernel reads, when the format fits it.
  const kernels::InterleavedWeights* interleaved() const override { return fast_ ? &*fast_ : nullptr; }
  // Bytes one token reads: the interleaved copy when there is one, else the packed tensor.
  size_t bytes_per_token() const override { return fast_ ? fast_->bytes() : t_.total_bytes(); }

 private:
  formats::PackedTensor t_;
  const formats::FormatOps* ops_;
  std::optional<kernels::InterleavedWeights> fast_;
};

// Y_i = X W_iᵀ for linears that read the same input (q/k/v, gate/up). For one or two tokens, when
// every linear runs the interleaved kernel, all their output rows share one parallel loop: one
// wake-up of the workers instead of one per linear, and no thread idles at a linear's end. Each row
// is computed exactly as forward() computes it. Otherwise each linear's forward() in turn.
void forward_shared_input(std::span<const Linear* const> linears, const float* x, size_t n,
                          std::span<float* const> ys, ThreadPool& pool);

}  // namespace mixq::model
