#include "mixq/quant/calib/calibration.hpp"

#include <algorithm>
#include <random>

#include <fmt/format.h>

#include "mixq/core/error.hpp"
#include "mixq/core/hash.hpp"
#include "mixq/core/memory.hpp"

namespace mixq::quant {

std::vector<std::vector<int>> sample_windows(std::span<const int> stream, int samples, int length, uint64_t seed) {
  if (samples <= 0 || length <= 0) fail("calibration", "needs positive --calib-samples and --calib-len, got {} and {}", samples, length);
  if (stream.size() < size_t(length))
    fail("calibration", "text has {} tokens, shorter than one window of {}", stream.size(), length);
  require_memory(size_t(samples) * size_t(length) * sizeof(int),
                 fmt::format("{} calibration windows of {} tokens", samples, length), "--calib-samples");
  std::mt19937_64 rng(seed);  // the engine's sequence is fixed by the standard; the mapping below too
  std::vector<std::vector<int>> out;
  for (int s = 0; s < samples; ++s) {
    const size_t start = size_t(rng() % uint64_t(stream.size() - size_t(length) + 1));
    out.emplace_back(stream.begin() + long(start), stream.begin() + long(start) + length);
  }
  return out;
}

std::string calibration_hash(const std::vector<std::vector<int>>& windows) {
  uint64_t h = kFnv1aSeed;
  for (const auto& w : windows)
    for (int id : w) {
      const uint8_t le[4] = {uint8_t(id), uint8_t(uint32_t(id) >> 8), uint8_t(uint32_t(id) >> 16), uint8_t(uint32_t(id) >> 24)};
      h = fnv1a64(le, 4, h);
    }
  return fnv1a64_label(h);
}

std::vector<std::vector<float>> embed_windows(const model::LlamaModel& m, const std::vector<std::vector<int>>& windows) {
  size_t tokens = 0;
  for (const auto& w : windows) tokens += w.size();
  // The layer's inputs, plus its widest capture (the MLP's hidden width) while it runs.
  const size_t floats = tokens * size_t(m.config().dim + m.config().hidden_dim);
  require_memory(floats * sizeof(float), fmt::format("the activations of {} calibration windows ({} tokens)", windows.size(), tokens),
                 "--calib-samples");
  std::vector<std::vector<float>> acts;
  for (const auto& w : windows) {
    acts.emplace_back(w.size() * size_t(m.config().dim));
    m.embed(w, acts.back().data());
  }
  return acts;
}

LayerCapture capture_layer(model::LlamaModel& m, int l, const std::vector<std::vector<float>>& acts, size_t len,
                           const std::function<bool(model::LinearSite)>& wanted, bool keep_inputs) {
  LayerCapture out;
  model::KvCache cache(m.config(), int(len));
  std::vector<float> x;
  for (const auto& a : acts) {
    x = a;
    m.forward_layer(l, x.data(), len, 0, cache, [&](model::LinearSite site, const float* in, size_t n, size_t width) {
      if (!wanted(site)) return;
      SiteCapture& c = out.try_emplace(site, SiteCapture{HessianAccumulator(width), {}}).first->second;
      c.hessian.add(in, n);
      if (keep_inputs) c.inputs.emplace_back(in, in + n * width);
    });
  }
  return out;
}

void feed_input_scorers(model::LlamaModel& m, int l, const std::vector<std::vector<float>>& acts, size_t len,
                        const std::map<model::LinearSite, std::vector<InputScorer*>>& scorers, size_t chunk) {
  if (scorers.empty()) return;
  chunk = std::max<size_t>(1, chunk);
  size_t widest = 0;  // one window's inputs at every scored site
  for (const auto& [site, list] : scorers) widest += len * size_t(site == model::LinearSite::MlpMid ? m.config().hidden_dim : m.config().dim);
  require_memory(std::min(chunk, acts.size()) * widest * sizeof(float),
                 fmt::format("the layer inputs of {} calibration windows at a time", chunk), "--calib-len");
  model::KvCache cache(m.config(), int(len));
  std::vector<float> x;
  for (size_t first = 0; first < acts.size(); first += chunk) {
    std::map<model::LinearSite, std::vector<std::vector<float>>> inputs;
    for (size_t s = first; s < std::min(acts.size(), first + chunk); ++s) {
      x = acts[s];
      m.forward_layer(l, x.data(), len, 0, cache, [&](model::LinearSite site, const float* in, size_t n, size_t width) {
        if (scorers.contains(site)) inputs[site].emplace_back(in, in + n * width);
      });
    }
    for (const auto& [site, list] : scorers)
      for (InputScorer* scorer : list) scorer->add(first, inputs[site], &m.pool());
  }
}

std::vector<std::pair<std::string, LayerCalibration>> layer_calibrations(model::LlamaModel& m, int l,
                                                                         const std::vector<std::vector<int>>& windows,
                                                                         bool keep_inputs) {
  std::vector<std::vector<float>> acts = embed_windows(m, windows);
  model::KvCache cache(m.config(), int(windows.at(0).size()));
  for (int i = 0; i < l; ++i)
    for (size_t s = 0; s < acts.size(); ++s) m.forward_layer(i, acts[s].data(), windows[s].size(), 0, cache);
  auto acc = capture_layer(m, l, acts, windows[0].size(), [](model::LinearSite) { return true; }, keep_inputs);
  std::vector<std::pair<std::string, LayerCalibration>> out;
  for (const auto& slot : model::linear_slots()) out.emplace_back(slot.name(l), acc.at(slot.site).calibration(m.pool()));
  return out;
}

}  // namespace mixq::quant
