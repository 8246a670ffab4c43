#pragma once
// Llama-family forward pass (RMSNorm, RoPE on adjacent pairs, GQA attention, SwiGLU MLP), as
// llama2.c's run.c computes it, over a batch of consecutive tokens with a KV cache; with the
// parts other families add where their config says so (io::LlamaConfig): q/k/v biases, per-head
// q/k norms, scaled RoPE frequencies, an explicit head width, a sliding attention window.
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "mixq/core/thread_pool.hpp"
#include "mixq/io/checkpoint.hpp"
#include "mixq/model/linear.hpp"

namespace mixq::model {

using io::LlamaConfig;

struct LayerWeights {
  std::vector<float> attn_norm, ffn_norm;
  std::vector<float> bq, bk, bv;       // q/k/v biases (qkv_bias), else empty
  std::vector<float> q_norm, k_norm;   // per-head q/k RMSNorm weights (qk_norm), else empty
  std::unique_ptr<Linear> wq, wk, wv, wo;  // attention projections
  std::unique_ptr<Linear> w1, w2, w3;      // MLP: gate, down, up
};

struct LlamaWeights {
  io::StoredTensor embedding;  // [vocab][dim], as stored (F32, F16, BF16): rows converted when looked up
  std::vector<LayerWeights> layers;
  std::vector<float> final_norm;
  std::unique_ptr<Linear> classifier;  // [vocab][dim]; reads the embedding's own bytes when tied
};

// Keys and values of every layer for positions [0, capacity).
struct KvCache {
  // single_layer: room for one layer's K/V, reused by whichever layer runs — calibration runs one
  // layer over a whole window at a time (at 7B, 2048 positions: 64 MiB instead of 2 GiB).
  KvCache(const LlamaConfig& c, int capacity, bool single_layer = false);
  int capacity;
  bool single_layer;
  size_t layer_stride;      // floats per layer: capacity * kv_dim
  std::vector<float> k, v;  // [layer][pos][kv_dim]
  size_t offset(int layer) const { return single_layer ? 0 : size_t(layer) * layer_stride; }
};

// The per-layer vectors a layer of `c` has (io::layer_vector_specs: norms, biases), each with
// the member that holds it.
struct VectorSlot {
  io::LayerVectorSpec spec;
  std::vector<float> LayerWeights::*member;
};
std::vector<VectorSlot> vector_slots(const LlamaConfig& c);

// Where a decoder layer's linears read their input: q/k/v share AttnIn, gate/up share MlpIn.
enum class LinearSite { AttnIn, AttnOut, MlpIn, MlpMid };
// The width of a site's inputs: dim, except the attention output (q_dim) and the MLP's middle.
size_t site_width(const LlamaConfig& c, LinearSite site);

// The seven projections of a decoder layer: which member holds each, its tensor name, where it
// reads its input, and its true-sequential stage (0 q,k,v; 1 o; 2 gate,up; 3 down).
struct LinearSlot {
  const char* role;
  LinearSite site;
  std::unique_ptr<Linear> LayerWeights::*member;
  std::string (*name)(int layer);
  int stage;
};
std::span<const LinearSlot> linear_slots();

// Sees a linear input X[n][width] during forward_layer (calibration captures Hessians here).
using CaptureFn = std::function<void(LinearSite, const float* x, size_t n, size_t width)>;

class LlamaModel {
 public:
  LlamaModel(LlamaConfig config, LlamaWeights weights, int threads);
  // Turns one decoder-layer weight (canonical name, fp32 tensor) into a linear layer.
  using LinearFactory = std::function<std::unique_ptr<Linear>(const std::string& name, Tensor&& w)>;
  // Builds the model from a loaded checkpoint (its tensors are moved out). Decoder-layer linears
  // come from `make_linear` (default: dense fp32); the classifier stays dense fp32.
  static LlamaModel from_checkpoint(io::Checkpoint& ckpt, int threads, const LinearFactory& make_linear = {});
  // Builds the model over an opened checkpoint: every linear (decoder layers and an untied
  // classifier) stays in its file as a StoredLinear; the embedding and norms are read as fp32.
  static LlamaModel from_stored(const io::StoredCheckpoint& ckpt, int threads);
  // Builds the model from any source: `dense(name)` gives the embedding and norms; `linear(name)`
  // each decoder-layer projection and an untied classifier (checked against the config's shape).
  using DenseSource = std::function<io::StoredTensor(const std::string& name)>;
  using LinearSource = std::function<std::unique_ptr<Linear>(const std::string& name)>;
  static LlamaModel assemble(const LlamaConfig& config, const DenseSource& dense, const LinearSource& linear,
                             int threads);

  const LlamaConfig& config() const { return config_; }
  const LlamaWeights& weights() const { return weights_; }
  ThreadPool& pool() const { return *pool_; }
  // Bytes of weights one decode step reads (all linears + the embedding row, which is negligible).
  size_t bytes_per_token() const;

  // Token embeddings of `tokens` into x[n][dim].
  void embed(std::span<const int> tokens, float* x) const;
  // Runs decoder layer `layer` in place on x[n][dim] at positions [pos, pos + n).
  void forward_layer(int layer, float* x, size_t n, int pos, KvCache& cache, const CaptureFn& capture = {});
  // Decoder layers' weights, for methods that quantize a layer and swap its linears in place.
  LayerWeights& layer(int l) { return weights_.layers.at(size_t(l)); }
  // A quantized output head in place of the classifier. A classifier tied to the embedding
  // becomes its own tensor (the embedding keeps its stored values for the lookup).
  void replace_classifier(std::unique_ptr<Linear> classifier);

  // Runs tokens at positions [pos, pos + tokens.size()) and writes logits: all positions
  // ([n][vocab]) when `all_logits`, else only the last token's ([vocab]).
  void forward(std::span<const int> tokens, int pos, KvCache& cache, float* logits, bool all_logits = true);

 private:
  void attention(int layer, size_t n, int pos, KvCache& cache);
  void ensure_scratch(size_t n);

  LlamaConfig config_;
  LlamaWeights weights_;
  std::vector<float> rope_inv_freq_;  // per rotation pair of a head, rope_scaling applied
  std::unique_ptr<ThreadPool> pool_;
  // Scratch, grown to the largest batch seen (never shrunk, so steady state allocates nothing).
  size_t scratch_tokens_ = 0;
  std::vector<float> x_, xb_, q_, k_, v_, att_out_, h1_, h3_, last_;
};

}  // namespace mixq::model
