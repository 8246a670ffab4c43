#include "mixq/quant/calib/calibration.hpp"

#include <algorithm>
#include <chrono>
#include <random>

#include <fmt/format.h>

#include "mixq/core/error.hpp"
#include "mixq/core/half.hpp"
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

WindowActivations::WindowActivations(const model::LlamaModel& m, const std::vector<std::vector<int>>& windows, bool bf16)
    : windows_(windows.size()), len_(windows.empty() ? 0 : windows[0].size()), dim_(size_t(m.config().dim)), bf16_(bf16) {
  for (const auto& w : windows)
    if (w.size() != len_) fail("calibration", "windows of {} and {} tokens", len_, w.size());
  const size_t tokens = windows_ * len_;
  // The activations, plus one window's widest capture (the MLP's hidden width) while a layer runs
  // over it: captures are taken a window at a time, never for every window at once.
  const size_t bytes = tokens * dim_ * (bf16 ? sizeof(uint16_t) : sizeof(float)) + len_ * size_t(m.config().hidden_dim) * sizeof(float);
  require_memory(bytes, fmt::format("the activations of {} calibration windows ({} tokens{})", windows_, tokens, bf16 ? ", bf16" : ""),
                 "--calib-samples");
  (bf16 ? bf16_values_.resize(tokens * dim_) : f32_.resize(tokens * dim_));
  std::vector<float> x(len_ * dim_);
  for (size_t s = 0; s < windows_; ++s) {
    m.embed(windows[s], x.data());
    write(s, x);
  }
}

void WindowActivations::read(size_t s, std::vector<float>& x) const {
  const size_t n = len_ * dim_, at = s * n;
  x.resize(n);
  if (bf16_)
    for (size_t i = 0; i < n; ++i) x[i] = bf16_to_f32(bf16_values_[at + i]);
  else
    std::copy_n(f32_.begin() + long(at), n, x.begin());
}

void WindowActivations::write(size_t s, const std::vector<float>& x) {
  const size_t n = len_ * dim_, at = s * n;
  if (bf16_)
    for (size_t i = 0; i < n; ++i) bf16_values_[at + i] = f32_to_bf16(x[i]);
  else
    std::copy_n(x.begin(), n, f32_.begin() + long(at));
}

model::KvCache WindowActivations::layer_cache(const model::LlamaModel& m) const {
  return model::KvCache(m.config(), std::max(1, int(len_)), /*single_layer=*/true);
}

void WindowActivations::run_layer(model::LlamaModel& m, int l, size_t s, model::KvCache& cache, std::vector<float>& x,
                                  const model::CaptureFn& capture) const {
  read(s, x);
  m.forward_layer(l, x.data(), len_, 0, cache, capture);
}

void WindowActivations::forward(model::LlamaModel& m, int l) {
  model::KvCache cache = layer_cache(m);
  std::vector<float> x;
  for (size_t s = 0; s < windows_; ++s) {
    run_layer(m, l, s, cache, x, {});
    write(s, x);
  }
}

LayerCapture capture_layer(model::LlamaModel& m, int l, const WindowActivations& acts,
                           const std::function<bool(model::LinearSite)>& wanted, bool keep_inputs, double* hessian_seconds) {
  LayerCapture out;
  model::KvCache cache = acts.layer_cache(m);
  std::vector<float> x;
  for (size_t s = 0; s < acts.windows(); ++s) {
    acts.run_layer(m, l, s, cache, x, [&](model::LinearSite site, const float* in, size_t n, size_t width) {
      if (!wanted(site)) return;
      SiteCapture& c = out.try_emplace(site, SiteCapture{HessianAccumulator(width), {}}).first->second;
      const auto t0 = std::chrono::steady_clock::now();
      c.hessian.add(in, n);
      if (hessian_seconds) *hessian_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (keep_inputs) c.inputs.emplace_back(in, in + n * width);
    });
  }
  return out;
}

void feed_input_scorers(model::LlamaModel& m, int l, const WindowActivations& acts,
                        const std::map<model::LinearSite, std::vector<InputScorer*>>& scorers, size_t chunk) {
  if (scorers.empty()) return;
  chunk = std::max<size_t>(1, chunk);
  const size_t len = acts.tokens_per_window();
  size_t widest = 0;  // one window's inputs at every scored site
  for (const auto& [site, list] : scorers) widest += len * model::site_width(m.config(), site);
  require_memory(std::min(chunk, acts.windows()) * widest * sizeof(float),
                 fmt::format("the layer inputs of {} calibration windows at a time", chunk), "--calib-len");
  model::KvCache cache = acts.layer_cache(m);
  std::vector<float> x;
  for (size_t first = 0; first < acts.windows(); first += chunk) {
    std::map<model::LinearSite, std::vector<std::vector<float>>> inputs;
    for (size_t s = first; s < std::min(acts.windows(), first + chunk); ++s) {
      acts.run_layer(m, l, s, cache, x, [&](model::LinearSite site, const float* in, size_t n, size_t width) {
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
  WindowActivations acts(m, windows, false);
  for (int i = 0; i < l; ++i) acts.forward(m, i);
  auto acc = capture_layer(m, l, acts, [](model::LinearSite) { return true; }, keep_inputs);
  std::vector<std::pair<std::string, LayerCalibration>> out;
  for (const auto& slot : model::linear_slots()) out.emplace_back(slot.name(l), acc.at(slot.site).calibration(m.pool()));
  return out;
}

}  // namespace mixq::quant
