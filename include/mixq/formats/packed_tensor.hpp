#pragma once
// A quantized weight matrix as it is stored: a few named parts (codes, scales, ...) that become
// the tensors `W.<part>` of the quantized model file (DESIGN.md §3), plus the format's name and
// parameters. Bits/weight are always counted from these bytes.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mixq/io/safetensors.hpp"

namespace mixq::formats {

struct PackedPart {
  std::string suffix;  // e.g. "codes", "scales"
  io::DType dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

struct PackedTensor {
  std::string format;         // a name in the format registry
  nlohmann::json params;      // the format's parameters
  int64_t rows = 0, cols = 0; // the original weight's shape [out, in]
  std::vector<PackedPart> parts;

  const PackedPart& part(const std::string& suffix) const;
  size_t total_bytes() const;
  // 8 × all stored bytes ÷ (rows × original cols).
  double bits_per_weight() const { return 8.0 * double(total_bytes()) / double(rows * cols); }
};

}  // namespace mixq::formats
