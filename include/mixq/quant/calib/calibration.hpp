#pragma once
// Calibration (docs/DESIGN.md "Calibration"): windows sampled from a calibration text with a fixed seed, and
// what one decoder layer's linears see of them — each site's Hessian and, for methods that score
// candidates on real outputs, the inputs themselves. The layer-sequential driver that feeds each
// quantized layer's output to the next is quant/pipeline.hpp.
#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "mixq/model/llama.hpp"
#include "mixq/quant/calib/hessian.hpp"
#include "mixq/quant/methods/method.hpp"

namespace mixq::quant {

struct CalibOptions {
  int samples = 128;   // windows
  int length = 0;      // tokens per window; 0: min(model seq_len, 2048)
  uint64_t seed = 0;
  bool bf16_activations = false;  // keep the activations between layers in bf16 (WindowActivations)
};

// `samples` windows of `length` tokens at seeded random offsets of `stream`. Error when the
// stream is shorter than one window.
std::vector<std::vector<int>> sample_windows(std::span<const int> stream, int samples, int length, uint64_t seed);

// FNV-1a hash of the windows' token ids: recorded in the file to identify the calibration data.
std::string calibration_hash(const std::vector<std::vector<int>>& windows);

// What one capture pass collects for one linear site.
struct SiteCapture {
  HessianAccumulator hessian;
  std::vector<std::vector<float>> inputs;  // per window X [tokens][cols], when kept

  LayerCalibration calibration(ThreadPool& pool) const { return {hessian.hessian(), nullptr, inputs, &pool}; }
  // The same for the site's last linear: H and the inputs are moved out, not copied.
  LayerCalibration take_calibration(ThreadPool& pool) { return {hessian.take_hessian(), nullptr, std::move(inputs), &pool}; }
};
using LayerCapture = std::map<model::LinearSite, SiteCapture>;

// Every calibration window's activations between decoder layers, [tokens][dim] each: the largest
// buffer of a calibrated run (128 × 2048 tokens at dim 4096: 4.3 GB as fp32), so it can be kept in
// bf16 (half that; each window is widened to fp32 while a layer runs over it, and rounded back).
class WindowActivations {
 public:
  WindowActivations() = default;
  // Layer 0's input: the windows' token embeddings. Error, naming the figure, when they and the
  // layer's widest capture do not fit in memory.
  WindowActivations(const model::LlamaModel& model, const std::vector<std::vector<int>>& windows, bool bf16);

  size_t windows() const { return windows_; }
  size_t tokens_per_window() const { return len_; }
  size_t bytes() const { return f32_.size() * sizeof(float) + bf16_values_.size() * sizeof(uint16_t); }
  // Window s as fp32 [tokens][dim].
  void read(size_t s, std::vector<float>& x) const;
  void write(size_t s, const std::vector<float>& x);
  // Runs decoder layer `layer` over window s (into x, the window left unchanged), showing
  // `capture` its linears' inputs; `cache` holds one layer.
  void run_layer(model::LlamaModel& model, int layer, size_t s, model::KvCache& cache, std::vector<float>& x,
                 const model::CaptureFn& capture) const;
  // Runs decoder layer `layer` over every window in place (its output becomes the next layer's input).
  void forward(model::LlamaModel& model, int layer);
  // A KV cache for one layer over one window.
  model::KvCache layer_cache(const model::LlamaModel& model) const;

 private:
  size_t windows_ = 0, len_ = 0, dim_ = 0;
  bool bf16_ = false;
  std::vector<float> f32_;
  std::vector<uint16_t> bf16_values_;
};

// Runs decoder layer `layer` over every window's activations `acts` (left unchanged) and returns,
// per site that `wanted` accepts, its Hessian and (keep_inputs) its inputs; adds the time spent
// accumulating the Hessians to *hessian_seconds when given.
LayerCapture capture_layer(model::LlamaModel& model, int layer, const WindowActivations& acts,
                           const std::function<bool(model::LinearSite)>& wanted, bool keep_inputs,
                           double* hessian_seconds = nullptr);

// The second pass of methods that read a layer's inputs (InputScorer, SliM-LLM's SBA): runs decoder
// layer `layer` over the windows' activations `acts` again, `chunk` windows at a time, and hands
// each site's inputs to its scorers (in window order), so that no more than a chunk of windows'
// inputs exists at once.
void feed_input_scorers(model::LlamaModel& model, int layer, const WindowActivations& acts,
                        const std::map<model::LinearSite, std::vector<InputScorer*>>& scorers, size_t chunk);

// Calibration of every linear of decoder layer `layer` from the fp model, keyed by canonical
// tensor name: H = 2/N Σ xxᵀ of the sites' inputs as the model computes them on `windows`, and
// (keep_inputs) those inputs, all at once (tests, small models).
std::vector<std::pair<std::string, LayerCalibration>> layer_calibrations(model::LlamaModel& model, int layer,
                                                                         const std::vector<std::vector<int>>& windows,
                                                                         bool keep_inputs = false);

}  // namespace mixq::quant
