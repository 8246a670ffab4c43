#pragma once
// What a quantized file holds, as `mixq inspect` shows it: built here so that every front end
// (the CLI's table, --json, tests) reads the same report.
#include <nlohmann/json.hpp>

#include "mixq/io/safetensors.hpp"

namespace mixq::quant {

// {"file", "metadata" (all but the per-tensor format entries), "tensors": [...]}: dense tensors
// with name, dtype, shape, bytes; packed weights with name, format, params, shape, bytes,
// measured bits_per_weight, code_histogram and the format's layout summary. Error unless the
// file is a mixq quantized file whose packed tensors validate.
nlohmann::json describe_quantized_file(const io::SafetensorsFile& file);

// {"formats": [names, in table order], "methods": [{"name", "format", "spec"}]}: the registries'
// one list, for scripts (scripts/fuzz_packed_seeds.py) and users.
nlohmann::json registered_formats_and_methods();

}  // namespace mixq::quant
