#pragma once
// The accelerator model over a whole FineQ-quantized model: the model runs a prompt, every
// selected linear layer's real input is captured and quantized to int8, and each layer's GEMM
// runs on the simulated array once per PE model, checked against the reference integer GEMM.
#include <functional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mixq/accel/systolic.hpp"
#include "mixq/model/llama.hpp"

namespace mixq::accel {

struct PeRun {
  PeKind pe;
  uint64_t cycles = 0, macs = 0;
  Events events;
  EnergyReport energy;
};

struct LayerRun {
  std::string name;
  int64_t n = 0, k = 0, tokens = 0;
  double outlier_cluster_fraction = 0;  // clusters with INT3 codes
  bool matches_reference = true;        // every PE model's int32 outputs = reference_gemm
  std::vector<PeRun> runs;              // one per PE model, in the order asked
};

struct ModelSimOptions {
  AccelConfig config = AccelConfig::defaults();
  std::vector<PeKind> pes{PeKind::Baseline, PeKind::Select, PeKind::Unary};
  std::vector<int> layers;  // decoder layers to simulate (empty: all)
};

struct ModelSimReport {
  std::vector<LayerRun> layers;
  std::vector<PeRun> totals;  // per PE model, summed over layers
  nlohmann::json to_json() const;
  std::string table() const;  // per layer and whole model, FineQ PEs beside the baseline
};

// Runs `tokens` through `model` (whose decoder linears must be FineQ packed) and simulates every
// selected linear on the real inputs. Work is spread over the model's thread pool; results do
// not depend on the thread count. Error when a linear is not FineQ or a layer index is out of range.
ModelSimReport simulate_model(model::LlamaModel& model, std::span<const int> tokens, const ModelSimOptions& opt,
                              const std::function<void(const LayerRun&)>& on_layer = {});

// Bar charts of the report as SVG: energy by component per PE model, PE-array area per PE model,
// cycles per layer per PE model.
std::string energy_svg(const ModelSimReport& r);
std::string area_svg(const ModelSimReport& r, const AccelConfig& cfg);
std::string cycles_svg(const ModelSimReport& r);

}  // namespace mixq::accel
