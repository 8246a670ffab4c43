#pragma once
// The one interface every linear layer goes through. Dense fp32 weights implement it today;
// each packed quantization format plugs in behind it (docs/DESIGN.md "Format table") without touching the model.
#include <cstddef>
#include <string>

#include "mixq/core/tensor.hpp"
#include "mixq/core/thread_pool.hpp"

namespace mixq::kernels {
class InterleavedWeights;
}
namespace mixq::io {
class StoredTensor;
}

namespace mixq::model {

class Linear {
 public:
  virtual ~Linear() = default;
  virtual size_t rows() const = 0;  // output features
  virtual size_t cols() const = 0;  // input features
  // Y[n][rows] = X[n][cols] Wᵀ.
  virtual void forward(const float* x, size_t n, float* y, ThreadPool& pool) const = 0;
  // Bytes of weight data stored (for bits/weight).
  virtual size_t weight_bytes() const = 0;
  // Bytes one token's forward pass reads (for bandwidth figures): a kernel may read a repacked copy.
  virtual size_t bytes_per_token() const { return weight_bytes(); }
  virtual std::string format_name() const = 0;
  // The fp32 weight when this layer is dense (quantization methods start from it), else null.
  virtual const Tensor* dense_weight() const { return nullptr; }
  // The weight as its checkpoint file stores it, when this layer reads it from there (StoredLinear).
  virtual const io::StoredTensor* stored_weight() const { return nullptr; }
  // The repacked copy the one-token kernel reads (kernels/interleaved.hpp), when there is one:
  // forward_shared_input runs the linears that have one in a single parallel loop.
  virtual const kernels::InterleavedWeights* interleaved() const { return nullptr; }
};

class DenseLinear final : public Linear {
 public:
  explicit DenseLinear(Tensor w);
  size_t rows() const override { return size_t(w_.rows()); }
  size_t cols() const override { return size_t(w_.cols()); }
  void forward(const float* x, size_t n, float* y, ThreadPool& pool) const override;
  size_t weight_bytes() const override { return w_.data.size() * sizeof(float); }
  std::string format_name() const override { return "f32"; }
  const Tensor* dense_weight() const override { return &w_; }

 private:
  Tensor w_;
};

}  // namespace mixq::model
