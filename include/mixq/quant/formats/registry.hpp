#pragma once
// The format table (after ggml's type traits): one row per packed format, looked up by the name
// stored in the tensor. A new format is one new file plus one line in registry.cpp.
#include <cstddef>
#include <cstdint>
#include <string>

#include "mixq/quant/packed_tensor.hpp"

namespace mixq::quant {

struct FormatOps {
  const char* name;
  void (*dequantize_row)(const PackedTensor&, int64_t row, float* out);
  // Y[n][rows] = X[n][cols] Ŵᵀ for output rows [row_begin, row_end).
  void (*gemm_rows)(const PackedTensor&, const float* x, size_t n, float* y, int64_t row_begin, int64_t row_end);
};

// The entry for `name`, or Error naming the unknown format.
const FormatOps& format_ops(const std::string& name);

}  // namespace mixq::quant
