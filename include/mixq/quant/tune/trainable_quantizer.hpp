#pragma once
// A linear's quantizer with trainable parameters (tune/block_tuning.hpp trains one per linear of a
// block): the fake-quantized weights at the current parameters, and the straight-through gradient
// of the parameters from dL/dŴ. Implementations: LearnableClip (per-group clipping of uniform and
// slim grids), LearnableStep (FineQ's Δ). The method row that made one bakes it (BlockTuning).
#include <cstdint>
#include <span>

namespace mixq::quant {

class TrainableQuantizer {
 public:
  virtual ~TrainableQuantizer() = default;
  virtual int64_t rows() const = 0;
  virtual int64_t cols() const = 0;
  virtual std::span<float> params() = 0;
  virtual std::span<const float> params() const = 0;
  // Ŵ [rows][cols] at the current parameters.
  virtual void fake_quantize(float* w_hat) const = 0;
  // dL/dparams (params() layout, overwritten) from dL/dŴ [rows][cols].
  virtual void backward(const float* d_w_hat, float* d_params) const = 0;
};

}  // namespace mixq::quant
