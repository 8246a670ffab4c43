#pragma once
// A linear layer read straight from its checkpoint file in the stored dtype (F32, F16, BF16):
// nothing is converted or copied until it runs, so an opened model costs no memory for layers not
// yet used. fp32 stored in row order runs in place; others are converted one 64-row slab at a time,
// into the same kernels DenseLinear calls, so the results are bit-identical to it.
#include "mixq/io/stored_tensor.hpp"
#include "mixq/model/linear.hpp"

namespace mixq::model {

class StoredLinear final : public Linear {
 public:
  explicit StoredLinear(io::StoredTensor w);
  size_t rows() const override { return size_t(w_.rows()); }
  size_t cols() const override { return size_t(w_.cols()); }
  void forward(const float* x, size_t n, float* y, ThreadPool& pool) const override;
  size_t weight_bytes() const override { return w_.stored_bytes(); }
  std::string format_name() const override;
  const io::StoredTensor* stored_weight() const override { return &w_; }

 private:
  io::StoredTensor w_;
};

}  // namespace mixq::model
