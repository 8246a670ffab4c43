#pragma once
// A quantized weight matrix as it is stored: a few named parts (codes, scales, ...) that become
// the tensors `W.<part>` of the quantized model file (docs/DESIGN.md "Tensors of the quantized file"), plus the format's name and
// its typed parameters. Bits/weight are always counted from these bytes.
#include <any>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mixq/core/error.hpp"
#include "mixq/io/safetensors.hpp"
#include "mixq/io/stored_bytes.hpp"

namespace mixq::formats {

struct PackedPart {
  std::string suffix;  // e.g. "codes", "scales"
  io::DType dtype;
  std::vector<int64_t> shape;
  io::StoredBytes bytes;  // held, or a range of the mapped file it was read from
};

struct PackedTensor {
  std::string format;         // a name in the format registry
  // The format's parameters as its own struct (UniformParams, SlimParams, …): parsed once, where
  // the tensor is packed or read from a file (the registry's parse_params), never re-parsed.
  std::any params;
  int64_t rows = 0, cols = 0; // the original weight's shape [out, in]
  std::vector<PackedPart> parts;

  const PackedPart& part(const std::string& suffix) const;
  // The parameters as format P's; Error when they are another format's.
  template <typename P>
  const P& params_as() const {
    if (const P* p = std::any_cast<P>(&params)) return *p;
    fail(format, "packed tensor carries parameters of another format");
  }
  size_t total_bytes() const;
  // Drops the pages of parts that lie in a mapped file from resident memory (io::StoredBytes).
  void release_pages() const;
  // 8 × all stored bytes ÷ (rows × original cols).
  double bits_per_weight() const { return 8.0 * double(total_bytes()) / double(rows * cols); }
};

}  // namespace mixq::formats
