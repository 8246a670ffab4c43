#pragma once
// A mixq quantized file as llama.cpp GGUF: each packed linear whose grid is exactly a ggml type's
// (formats/ggml_blocks.hpp: uniform 8-bit g32 symmetric = Q8_0, 4-bit g32 symmetric = Q4_0) is
// written as that type, so llama.cpp computes with the very weights mixq does; the embedding,
// norms and head in `dtype`.
#include <map>
#include <string>

#include "mixq/io/gguf.hpp"

namespace mixq::quant {

struct GgufExport {
  std::map<std::string, int> linears_by_type;  // "Q8_0" → count, "F16 (dequantized)" → count
};
// Any other packed linear is an Error naming it and why — or, with `dequantize`, written
// dequantized in `dtype` (then no longer the same weights to the bit).
GgufExport save_quantized_gguf(const std::string& model_path, const std::string& out, io::DType dtype, bool dequantize);

}  // namespace mixq::quant
