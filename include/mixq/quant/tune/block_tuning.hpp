#pragma once
// Block-wise training of learnable weight clipping (SliM-LLM+, after OmniQuant's LWC;
// docs/DESIGN.md "SliM-LLM+"): each decoder block's linears get per-(row, group) clipping logits,
// trained with AdamW so that the block with fake-quantized weights reproduces the fp block's
// output on the calibration windows (mean squared error; straight-through estimator through the
// rounding), then baked into the ordinary packed format by the method's row (BlockTuning::bake).
// The layer-sequential driver (quant/pipeline.hpp) hands a tuned method one BlockTuneJob per
// decoder layer.
#include <array>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mixq/core/tensor.hpp"
#include "mixq/formats/packed_tensor.hpp"
#include "mixq/quant/calib/calibration.hpp"
#include "mixq/quant/tune/block_grad.hpp"
#include "mixq/quant/tune/clip_tuning.hpp"
#include "mixq/quant/tune/trainable_quantizer.hpp"

namespace mixq::quant {

// What the driver gives a tuned method for one decoder layer.
struct BlockTuneJob {
  const io::LlamaConfig* config = nullptr;
  const model::LayerWeights* vectors = nullptr;                   // norms, biases (linears unused)
  std::array<const Tensor*, kBlockLinears> fp{};  // the linears before quantization
  // A fresh trainable quantizer of linear i (slot order), at its starting parameters.
  std::function<std::unique_ptr<TrainableQuantizer>(size_t i)> make;
  const WindowActivations* inputs = nullptr;       // the block's training inputs
  const WindowActivations* targets = nullptr;      // the fp block's output on the fp inputs
  const WindowActivations* aug_targets = nullptr;  // the fp block's output on `inputs` (aug_loss)
  ThreadPool* pool = nullptr;
  std::string where;  // "decoder layer 3", for errors
};

struct BlockTuneReport {
  double first_loss = 0, last_loss = 0;  // mean training loss of the first and last epoch
  int retries = 0;                       // restarts at a lower learning rate after a non-finite loss
  size_t activation_floats = 0;          // what one window's forward keeps for backward
};

// Trains the job's seven quantizers together (one AdamW over all their parameters) and returns them
// trained (slot order). A non-finite loss or gradient restarts the block from fresh quantizers at
// a tenth of the learning rate, twice at most; then Error naming the block.
std::vector<std::unique_ptr<TrainableQuantizer>> tune_block_clipping(const BlockTuneJob& job, const ClipTuning& opt,
                                                                     BlockTuneReport* report = nullptr);

// The loss tune_block_clipping minimizes, for one window: mean((y − target)²); writes dL/dy.
double mse_loss(const float* y, const float* target, size_t n, float scale, float* dy);

}  // namespace mixq::quant
