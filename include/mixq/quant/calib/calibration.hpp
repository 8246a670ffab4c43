#pragma once
// Calibration (DESIGN.md §5.2): windows sampled from a calibration text with a fixed seed, then
// a layer-sequential pass: each decoder layer's Hessians are captured, its linears quantized
// and swapped in, and its *quantized* output becomes the next layer's input (as GPTQ does).
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "mixq/model/llama.hpp"
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

struct LayerReport {
  std::string name;
  int64_t rows, cols;
  double bits_per_weight;
  double seconds;
  std::string layout;  // the format's layout summary (slim: the group widths and SBA's p)
};

// Quantizes every decoder-layer linear of `model` in place (they become PackedLinear), layer by
// layer. `on_layer(l, reports)` is called after each decoder layer.
void quantize_model(model::LlamaModel& model, const std::vector<std::vector<int>>& windows, const MethodOptions& opt,
                    const std::function<void(int, const std::vector<LayerReport>&)>& on_layer = {});

// Calibration of every linear of decoder layer `layer` from the fp model, keyed by canonical
// tensor name: H = 2/N Σ xxᵀ of the sites' inputs as the model computes them on `windows`, and
// (keep_inputs) those inputs.
std::vector<std::pair<std::string, LayerCalibration>> layer_calibrations(model::LlamaModel& model, int layer,
                                                                         const std::vector<std::vector<int>>& windows,
                                                                         bool keep_inputs = false);

}  // namespace mixq::quant
