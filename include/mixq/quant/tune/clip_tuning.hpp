#pragma once
// The options of block-wise learnable clipping (tune/block_tuning.hpp), apart from the training
// itself so that method options can hold them.
#include <nlohmann/json.hpp>

namespace mixq::quant {

struct ClipTuning {
  int epochs = 20;         // passes over the windows
  double lr = 1e-2;        // AdamW learning rate of the clipping logits (weight decay 0)
  int batch = 1;           // windows per step
  int windows = 0;         // windows trained on (the first ones; 0: all calibration windows)
  bool fp_inputs = false;  // train on the fp blocks' outputs (default: the quantized blocks', as OmniQuant)
  bool aug_loss = false;   // add MSE(fp block(input), q block(input)): OmniQuant's --aug_loss
  float init = 4.f;        // initial logit: σ(4) ≈ 0.982 of each group's max and min
  float init_binary = 0.f; // 1-bit groups' logit: α = mean|w|·(σ + 0.5), 1.0× at 0 (published: 4, 1.48×)

  // The published SliM-LLM+ recipe for LLaMA (50 epochs, lr 1e-2, batch 1, aug loss, logits 4).
  static ClipTuning official();
  void validate() const;  // Error naming the option out of range
  nlohmann::json to_json() const;
};

}  // namespace mixq::quant
