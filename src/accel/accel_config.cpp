#include "mixq/accel/accel_config.hpp"

#include <cmath>

#include "mixq/core/error.hpp"
#include "mixq/core/json_number.hpp"
#include "mixq/io/mapped_file.hpp"

namespace mixq::accel {
namespace {

const char* kHorowitz = "Horowitz, 'Computing's energy problem', ISSCC 2014, 45 nm table";
const char* kNangate = "NanGate 45 nm Open Cell Library (X1 cells)";

// The energy and area keys every PE model and the memory model read.
const char* const kEnergyKeys[] = {"mult_int8x4", "add_psum", "add_small", "select_2bit", "reg_bit",
                                   "sram_weight_byte", "sram_act_byte", "sram_out_byte", "dram_byte"};
const char* const kAreaKeys[] = {"mult_int8x4", "add_psum", "add_small", "select_2bit", "reg_bit", "counter_3bit"};

}  // namespace

AccelConfig AccelConfig::defaults() {
  AccelConfig c;
  c.energy = {
      {"mult_int8x4", {0.1, "pJ", std::string(kHorowitz) + ": 8-bit mult 0.2 pJ; assumption: ∝ operand bits, ×4/8 for int4 weights"}},
      {"add_psum", {0.1, "pJ", std::string(kHorowitz) + ": 32-bit int add"}},
      {"add_small", {0.03, "pJ", std::string(kHorowitz) + ": 8-bit int add (the 10-bit x, 2x operand negate/select add)"}},
      {"select_2bit", {0.01, "pJ", "assumption: a 10-bit 4:1 mux switching, ~1/3 of an 8-bit add"}},
      {"reg_bit", {0.002, "pJ/bit", "assumption: one flip-flop write at 45 nm (~2 fJ)"}},
      {"sram_weight_byte", {1.25, "pJ/byte", std::string(kHorowitz) + ": 8 KB SRAM 64-bit read 10 pJ"}},
      {"sram_act_byte", {1.25, "pJ/byte", std::string(kHorowitz) + ": 8 KB SRAM 64-bit read 10 pJ"}},
      {"sram_out_byte", {2.5, "pJ/byte", std::string(kHorowitz) + ": 32 KB SRAM 64-bit access 20 pJ"}},
      {"dram_byte", {162.5, "pJ/byte", std::string(kHorowitz) + ": DRAM 1.3–2.6 nJ per 64 bits (low end)"}},
  };
  c.area = {
      {"mult_int8x4", {141, "µm²", std::string(kHorowitz) + ": 8-bit mult 282 µm²; assumption: ×4/8 for int4"}},
      {"add_psum", {137, "µm²", std::string(kHorowitz) + ": 32-bit adder"}},
      {"add_small", {36, "µm²", std::string(kHorowitz) + ": 8-bit adder (negate of the selected operand)"}},
      {"select_2bit", {18.6, "µm²", std::string(kNangate) + ": MUX2_X1 1.862 µm² × 10 bits (0/x/2x select)"}},
      {"reg_bit", {4.522, "µm²/bit", std::string(kNangate) + ": DFF_X1"}},
      {"counter_3bit", {20, "µm²", std::string(kNangate) + ": 3 DFF + ~4 gates (pulse counter)"}},
  };
  return c;
}

void AccelConfig::validate() const {
  if (rows <= 0 || cols <= 0) fail("accelerator config", "array must be at least 1×1, got {}×{}", rows, cols);
  if (rows > 4096 || cols > 4096) fail("accelerator config", "array {}×{} is larger than 4096×4096", rows, cols);
  if (dataflow != "ws" && dataflow != "os") fail("accelerator config", "dataflow must be ws or os, got '{}'", dataflow);
  if (psum_bits < 16 || psum_bits > 64) fail("accelerator config", "psum_bits must be 16…64, got {}", psum_bits);
  auto check = [](const std::map<std::string, Constant>& m, const char* what, auto& keys) {
    for (const char* k : keys)
      if (!m.count(k)) fail("accelerator config", "{} constant '{}' is missing", what, k);
    for (const auto& [k, c] : m)
      if (!std::isfinite(c.value) || c.value < 0) fail("accelerator config", "{} '{}' must be ≥ 0, got {}", what, k, c.value);
  };
  check(energy, "energy", kEnergyKeys);
  check(area, "area", kAreaKeys);
}

double AccelConfig::e(const std::string& key) const {
  const auto it = energy.find(key);
  if (it == energy.end()) fail("accelerator config", "energy constant '{}' is missing", key);
  return it->second.value;
}

double AccelConfig::a(const std::string& key) const {
  const auto it = area.find(key);
  if (it == area.end()) fail("accelerator config", "area constant '{}' is missing", key);
  return it->second.value;
}

nlohmann::json AccelConfig::to_json() const {
  auto table = [](const std::map<std::string, Constant>& m) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [k, c] : m) j[k] = {{"value", c.value}, {"unit", c.unit}, {"source", c.source}};
    return j;
  };
  return {{"name", name}, {"rows", rows}, {"cols", cols}, {"psum_bits", psum_bits},
          {"overlap_weight_load", overlap_weight_load}, {"dataflow", dataflow}, {"energy", table(energy)}, {"area", table(area)}};
}

AccelConfig AccelConfig::from_json(const nlohmann::json& j) {
  AccelConfig c = defaults();  // a file may override only some constants
  try {
    c.name = j.value("name", c.name);
    auto integer = [&](const char* key, int& field) {
      if (j.contains(key)) field = json_int(j.at(key), "accelerator config", key);
    };
    integer("rows", c.rows);
    integer("cols", c.cols);
    integer("psum_bits", c.psum_bits);
    c.overlap_weight_load = j.value("overlap_weight_load", c.overlap_weight_load);
    c.dataflow = j.value("dataflow", c.dataflow);
    for (const char* section : {"energy", "area"}) {
      if (!j.contains(section)) continue;
      auto& m = std::string(section) == "energy" ? c.energy : c.area;
      for (const auto& [k, v] : j.at(section).items()) {
        Constant& k_c = m[k];
        if (v.is_number()) {
          k_c.value = v.get<double>();
          k_c.source = "user config";
        } else {
          k_c.value = v.at("value").get<double>();
          k_c.unit = v.value("unit", k_c.unit);
          k_c.source = v.value("source", std::string("user config"));
        }
      }
    }
  } catch (const nlohmann::json::exception& e) {
    fail("accelerator config", "{}", e.what());
  }
  c.validate();
  return c;
}

AccelConfig AccelConfig::load(const std::string& path) {
  const std::string text = io::read_whole_file(path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail(path, "not valid JSON: {}", e.what());
  }
  try {
    return from_json(j);
  } catch (const Error& e) {
    fail(path, "{}", e.what());
  }
}

}  // namespace mixq::accel
