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
};
using LayerCapture = std::map<model::LinearSite, SiteCapture>;

// Layer 0's input for every window: its tokens' embeddings [tokens][dim].
std::vector<std::vector<float>> embed_windows(const model::LlamaModel& model, const std::vector<std::vector<int>>& windows);

// Runs decoder layer `layer` over every window's activations `acts` (each [len][dim], left
// unchanged) and returns, per site that `wanted` accepts, its Hessian and (keep_inputs) its inputs.
LayerCapture capture_layer(model::LlamaModel& model, int layer, const std::vector<std::vector<float>>& acts, size_t len,
                           const std::function<bool(model::LinearSite)>& wanted, bool keep_inputs);

// The second pass of methods that read a layer's inputs (InputScorer, SliM-LLM's SBA): runs decoder
// layer `layer` over the windows' activations `acts` again, `chunk` windows at a time, and hands
// each site's inputs to its scorers (in window order), so that no more than a chunk of windows'
// inputs exists at once.
void feed_input_scorers(model::LlamaModel& model, int layer, const std::vector<std::vector<float>>& acts, size_t len,
                        const std::map<model::LinearSite, std::vector<InputScorer*>>& scorers, size_t chunk);

// Calibration of every linear of decoder layer `layer` from the fp model, keyed by canonical
// tensor name: H = 2/N Σ xxᵀ of the sites' inputs as the model computes them on `windows`, and
// (keep_inputs) those inputs, all at once (tests, small models).
std::vector<std::pair<std::string, LayerCalibration>> layer_calibrations(model::LlamaModel& model, int layer,
                                                                         const std::vector<std::vector<int>>& windows,
                                                                         bool keep_inputs = false);

}  // namespace mixq::quant
