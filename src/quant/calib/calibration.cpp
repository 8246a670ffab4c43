#include "mixq/quant/calib/calibration.hpp"

#include <chrono>
#include <map>
#include <random>

#include <fmt/format.h>

#include "mixq/core/error.hpp"
#include "mixq/core/hash.hpp"
#include "mixq/model/packed_linear.hpp"
#include "mixq/quant/calib/hessian.hpp"
#include "mixq/quant/formats/registry.hpp"

namespace mixq::quant {
namespace {

using model::LinearSite;

using model::LinearSlot;

// What one capture pass collects per linear site.
struct SiteCapture {
  HessianAccumulator hessian;
  std::vector<std::vector<float>> inputs;  // per window, when asked for
};

// Runs layer `l` over every window's current activations (without changing them) and returns,
// per site that `wanted` accepts, its Hessian and (keep_inputs) its inputs.
std::map<LinearSite, SiteCapture> capture(model::LlamaModel& m, int l, const std::vector<std::vector<float>>& acts,
                                          size_t len, const std::function<bool(LinearSite)>& wanted, bool keep_inputs) {
  std::map<LinearSite, SiteCapture> out;
  model::KvCache cache(m.config(), int(len));
  std::vector<float> x;
  for (const auto& a : acts) {
    x = a;
    m.forward_layer(l, x.data(), len, 0, cache, [&](LinearSite site, const float* in, size_t n, size_t width) {
      if (!wanted(site)) return;
      SiteCapture& c = out.try_emplace(site, SiteCapture{HessianAccumulator(width), {}}).first->second;
      c.hessian.add(in, n);
      if (keep_inputs) c.inputs.emplace_back(in, in + n * width);
    });
  }
  return out;
}

LayerCalibration calibration_of(const SiteCapture& c, ThreadPool& pool) {
  return {c.hessian.hessian(), c.inputs, &pool};
}

}  // namespace

std::vector<std::vector<int>> sample_windows(std::span<const int> stream, int samples, int length, uint64_t seed) {
  if (samples <= 0 || length <= 0) fail("calibration", "needs positive --calib-samples and --calib-len, got {} and {}", samples, length);
  if (stream.size() < size_t(length))
    fail("calibration", "text has {} tokens, shorter than one window of {}", stream.size(), length);
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

std::vector<std::pair<std::string, LayerCalibration>> layer_calibrations(model::LlamaModel& m, int l,
                                                                         const std::vector<std::vector<int>>& windows,
                                                                         bool keep_inputs) {
  std::vector<std::vector<float>> acts;
  const size_t dim = size_t(m.config().dim);
  for (const auto& w : windows) {
    acts.emplace_back(w.size() * dim);
    m.embed(w, acts.back().data());
  }
  model::KvCache cache(m.config(), int(windows.at(0).size()));
  for (int i = 0; i < l; ++i)
    for (size_t s = 0; s < acts.size(); ++s) m.forward_layer(i, acts[s].data(), windows[s].size(), 0, cache);
  auto acc = capture(m, l, acts, windows[0].size(), [](LinearSite) { return true; }, keep_inputs);
  std::vector<std::pair<std::string, LayerCalibration>> out;
  for (const auto& slot : model::linear_slots()) out.emplace_back(slot.name(l), calibration_of(acc.at(slot.site), m.pool()));
  return out;
}

void quantize_model(model::LlamaModel& m, const std::vector<std::vector<int>>& windows, const MethodOptions& opt,
                    const std::function<void(int, const std::vector<LayerReport>&)>& on_layer) {
  const MethodInfo& method = method_info(opt.method);
  validate_method_options(opt);
  if (windows.empty() && method.needs_calibration) fail("calibration", "method {} needs calibration windows", opt.method);
  const auto& cfg = m.config();
  const size_t len = windows.empty() ? 0 : windows[0].size();
  if (len > size_t(cfg.seq_len)) fail("calibration", "window of {} tokens exceeds the model's context {}", len, cfg.seq_len);
  std::vector<std::vector<float>> acts;
  for (const auto& w : windows) {
    acts.emplace_back(w.size() * size_t(cfg.dim));
    m.embed(w, acts.back().data());
  }
  model::KvCache cache(cfg, std::max(1, int(len)));
  for (int l = 0; l < cfg.n_layers; ++l) {
    std::vector<LayerReport> reports;
    model::LayerWeights& layer = m.layer(l);
    // One capture pass for the whole layer (published GPTQ), or one per stage so each stage
    // sees the outputs of the stages already quantized (true-sequential).
    const int stages = opt.true_sequential ? 4 : 1;
    for (int stage = 0; stage < stages; ++stage) {
      auto in_stage = [&](const LinearSlot& s) { return !opt.true_sequential || s.stage == stage; };
      std::map<LinearSite, SiteCapture> acc;
      if (method.needs_calibration)
        acc = capture(
            m, l, acts, len,
            [&](LinearSite site) {
              for (const auto& s : model::linear_slots())
                if (s.site == site && in_stage(s)) return true;
              return false;
            },
            method.needs_inputs);
      for (const auto& slot : model::linear_slots()) {
        if (!in_stage(slot)) continue;
        const auto t0 = std::chrono::steady_clock::now();
        std::unique_ptr<model::Linear>& linear = layer.*slot.member;
        const Tensor* w = linear->dense_weight();
        if (!w) fail(slot.name(l), "is already quantized");
        LayerCalibration calib;
        if (method.needs_calibration) calib = calibration_of(acc.at(slot.site), m.pool());
        PackedTensor packed;
        try {
          packed = method.quantize(*w, calib, opt);
        } catch (const Error& e) {
          fail(slot.name(l), "{}", e.what());
        }
        reports.push_back({slot.name(l), packed.rows, packed.cols, packed.bits_per_weight(),
                           std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
                           format_ops(packed.format).layout(packed)});
        linear = std::make_unique<model::PackedLinear>(std::move(packed));  // frees the fp32 weight
      }
    }
    // The quantized layer's output feeds the next layer's calibration.
    for (size_t s = 0; s < acts.size(); ++s) m.forward_layer(l, acts[s].data(), len, 0, cache);
    if (on_layer) on_layer(l, reports);
  }
}

}  // namespace mixq::quant
