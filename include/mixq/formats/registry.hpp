#pragma once
// The format table (after ggml's type traits): one row per packed format, looked up by the name
// stored in the tensor. A new format is one new file plus one line in registry.cpp.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "mixq/formats/affine_form.hpp"
#include "mixq/formats/packed_tensor.hpp"

namespace mixq::formats {

struct FormatOps {
  const char* name;
  // Error unless the parts are consistent with shape and parameters (run on every loaded tensor).
  void (*validate)(const PackedTensor&);
  std::vector<int64_t> (*code_histogram)(const PackedTensor&);
  std::string (*code_label)(size_t code);  // what histogram entry `code` counts
  // What varies inside the tensor beyond its parameters, in a few words ("" when nothing does):
  // slim's per-group widths, for `mixq inspect` and `mixq quantize -v`.
  std::string (*layout)(const PackedTensor&);
  // Rows [row_begin, row_end) as fp32, out[(r − row_begin) · cols + i].
  void (*dequantize_rows)(const PackedTensor&, int64_t row_begin, int64_t row_end, float* out);
  // Scalar reference Y[n][rows] = X[n][cols] Ŵᵀ for output rows [row_begin, row_end): the
  // specification faster kernels are tested against.
  void (*gemm_reference)(const PackedTensor&, const float* x, size_t n, float* y, int64_t row_begin, int64_t row_end);
  // The tensor as codes with an affine map per (row, group), for the fast kernels; the returned
  // decoder refers to the tensor, which must outlive it.
  AffineForm (*affine_form)(const PackedTensor&);
};

// The entry for `name`, or Error naming the unknown format.
const FormatOps& format_ops(const std::string& name);

}  // namespace mixq::formats
