#pragma once
// The accelerator model's parameters (docs/DESIGN.md "Energy and area"): array shape, word widths, and the per-event
// energy and per-unit area constants, each with the source it comes from. Loaded from JSON; the
// default (45 nm: Horowitz, ISSCC 2014; standard cells: NanGate 45 nm Open Cell Library) is built
// in and can be written out with `mixq simulate --dump-config` to edit.
#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace mixq::accel {

struct Constant {
  double value = 0;
  std::string unit;    // pJ, pJ/byte, pJ/bit, µm², µm²/bit
  std::string source;  // where the figure comes from, or "assumption: …"
};

struct AccelConfig {
  int rows = 32, cols = 32;  // R (input dimension per tile) × C (outputs per tile)
  int psum_bits = 32;        // partial-sum register / accumulator width
  bool overlap_weight_load = false;  // double-buffered weights: loading the next tile is hidden
  std::string dataflow = "ws";       // ws: weight-stationary | os: output-stationary
  std::map<std::string, Constant> energy;  // per event
  std::map<std::string, Constant> area;    // per unit
  std::string name = "default-45nm";

  // The built-in configuration (every constant named with its source).
  static AccelConfig defaults();
  // Error naming the problem for a non-positive array size, an unknown dataflow, a negative or non-finite constant,
  // a missing constant, or a malformed file.
  void validate() const;
  double e(const std::string& key) const;  // energy constant (Error if missing)
  double a(const std::string& key) const;  // area constant (Error if missing)
  nlohmann::json to_json() const;
  static AccelConfig from_json(const nlohmann::json& j);
  static AccelConfig load(const std::string& path);
};

}  // namespace mixq::accel
