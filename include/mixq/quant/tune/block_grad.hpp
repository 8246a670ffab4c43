#pragma once
// One decoder block's forward pass with its activations kept, and its backward pass: what
// gradient-trained quantizers (SliM-LLM+, OmniQuant's learnable weight clipping) tune a block's
// quantizers with. It computes what model::LlamaModel::forward_layer computes (RMSNorm, q/k/v
// biases, per-head q/k norms, RoPE on adjacent pairs, causal GQA attention with an optional
// sliding window, SwiGLU), for one window at positions 0 … tokens − 1, on dense fp32 weights —
// the tuner hands it fake-quantized ones — and returns dL/dW of every linear (and dL/dx, which
// the finite-difference tests check).
//
// Every parallel loop gives each output element to one work item, with BLAS single-threaded on
// fixed slabs, so forward and backward are bit-identical for any thread count.
#include <array>
#include <cstddef>
#include <vector>

#include "mixq/core/thread_pool.hpp"
#include "mixq/io/llama_config.hpp"
#include "mixq/model/llama.hpp"

namespace mixq::quant {

inline constexpr size_t kBlockLinears = 7;  // model::linear_slots() order: q k v o gate up down

// What the block computes with: the layer's vectors (norms, biases, q/k norms) and its seven
// linears as dense fp32 [out][in], in slot order.
struct BlockWeights {
  const model::LayerWeights* vectors = nullptr;
  std::array<const float*, kBlockLinears> linear{};
};

// dL/dW of the seven linears, [out][in] each, in slot order.
using BlockLinearGrads = std::array<std::vector<float>, kBlockLinears>;

// (rows, cols) of linear `slot` of a layer of `c`.
std::pair<size_t, size_t> block_linear_shape(const io::LlamaConfig& c, size_t slot);
// Zeroed gradients of the right shapes.
BlockLinearGrads zero_block_grads(const io::LlamaConfig& c);

class BlockGrad {
 public:
  // A block of `c` over windows of `tokens` tokens.
  BlockGrad(const io::LlamaConfig& c, size_t tokens);

  size_t tokens() const { return tokens_; }
  // y[tokens][dim] = block(x[tokens][dim]); keeps what backward needs (x must outlive backward).
  void forward(const BlockWeights& w, const float* x, float* y, ThreadPool& pool);
  // After forward: adds dL/dW of each linear to `grads` (zero_block_grads' shapes) and writes
  // dL/dx[tokens][dim] when dx is not null.
  void backward(const BlockWeights& w, const float* dy, BlockLinearGrads& grads, float* dx, ThreadPool& pool);
  // Floats this object holds for one window: the bound on a block's training activations.
  size_t floats_held() const;

 private:
  void attention_forward(ThreadPool& pool);
  void attention_backward(const float* d_att, float* dq, float* dk, float* dv, ThreadPool& pool) const;
  int first_visible(int t) const;

  io::LlamaConfig c_;
  size_t tokens_, dim_, q_dim_, kv_dim_, hid_;
  int hs_;
  std::vector<float> inv_freq_;
  const float* x_ = nullptr;
  // Kept by forward: normed inputs and their 1/rms, q/k before their norms (qk_norm) and after
  // RoPE, v, the attention output and each row's log-sum-exp, the residual after attention, the
  // MLP's gate, up and product.
  std::vector<float> xn1_, r1_, q_pre_, k_pre_, rq_, rk_, q_, k_, v_, att_, lse_, x1_, xn2_, r2_, g_, u_, m_;
};

}  // namespace mixq::quant
