#pragma once
// The ggml tensor types a GGUF file can hold (ggml.h's numbering), one table row each: block
// shape and a row decoder to fp32. mixq writes F32/F16/BF16/Q4_0/Q8_0 and reads every row here;
// the decoders follow the block layouts of llama.cpp's ggml-common.h (docs/DESIGN.md "GGUF files").
#include <cstdint>
#include <span>

namespace mixq::io {

enum class GgmlType : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8,
  Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, BF16 = 30,
};

struct GgmlTypeInfo {
  GgmlType type;
  const char* name;
  int64_t block_elems;  // values per block (1 for the plain float types)
  int64_t block_bytes;
  // Decodes `n` values (a multiple of block_elems) from their blocks.
  void (*to_f32)(const uint8_t* blocks, int64_t n, float* out);
};

// The row of type number `id`, or nullptr for a type mixq does not read (the i-quants, integers).
const GgmlTypeInfo* find_ggml_type(uint32_t id);
const GgmlTypeInfo& ggml_type_info(GgmlType t);
const char* ggml_type_name(GgmlType t);
// Every type mixq reads (for errors that list them and for tests).
std::span<const GgmlTypeInfo> ggml_types();

}  // namespace mixq::io
