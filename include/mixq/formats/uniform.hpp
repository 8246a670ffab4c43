#pragma once
// Format `uniform` (RTN/GPTQ): b ∈ {2, 3, 4, 8} bits per weight, one grid (fp16 scale + fp16
// integer zero point) per group of G consecutive input columns of a row (G = 0: the whole row; a
// shorter last group when cols is not a multiple of G).
//
// Bit layout (golden vectors in tests/unit/uniform_format_test.cpp):
//   part "codes"  U8 [rows, 4·W]: each row is W little-endian 32-bit words holding
//                 k = ⌊32 / b⌋ codes each (b = 2: 16, 3: 10 + 2 spare bits, 4: 8, 8: 4);
//                 code i of the row is bits [(i mod k)·b, (i mod k)·b + b) of word ⌊i / k⌋, so a
//                 3-bit code never straddles a word. Unused codes and spare bits are 0.
//   part "scales" F16 [rows, groups]
//   part "zeros"  F16 [rows, groups] — asymmetric only; symmetric grids use zero = 2^(b−1).
//   weight = scale · (code − zero).
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "mixq/core/tensor.hpp"
#include "mixq/formats/affine_form.hpp"
#include "mixq/formats/ggml_blocks.hpp"
#include "mixq/formats/packed_tensor.hpp"

namespace mixq::formats {

struct UniformParams {
  int bits = 4;
  int group = 128;  // 0: one group per row
  bool symmetric = false;

  void validate() const;  // Error for bits outside {2,3,4,8} or group < 0
  int group_size(int64_t cols) const { return group > 0 ? group : int(cols); }
  int64_t groups(int64_t cols) const { return (cols + group_size(cols) - 1) / group_size(cols); }
  nlohmann::json to_json() const;
  static UniformParams from_json(const nlohmann::json& j);
};

struct UniformFormat {
  using Params = UniformParams;
  static constexpr std::string_view name = "uniform";

  static constexpr int codes_per_word(int bits) { return 32 / bits; }
  static constexpr int64_t words_per_row(int64_t cols, int bits) { return (cols + codes_per_word(bits) - 1) / codes_per_word(bits); }
  // Exact stored size; used for bits/weight before anything is packed.
  static size_t bytes_for(int64_t rows, int64_t cols, const UniformParams& p);
  // bytes_for of t's own shape and parameters: what bits/weight must be counted from.
  static size_t stored_bytes(const PackedTensor& t);
  // A valid tensor of random codes, with parameters drawn from `seed` among the format's
  // choices: what the format contract test walks for every registered format.
  static PackedTensor random(int64_t rows, int64_t cols, uint64_t seed);

  // Packs codes [rows][cols] (each < 2^bits) with per-(row, group) scales and zeros.
  static PackedTensor pack(int64_t rows, int64_t cols, std::span<const uint8_t> codes, std::span<const float> scales,
                           std::span<const float> zeros, const UniformParams& p);
  // Error unless the parts are exactly what `pack` writes for the tensor's shape and parameters
  // (dtype, shape, byte count) and every scale and zero is finite: a loaded file is checked
  // before any kernel reads it.
  static void validate(const PackedTensor& t);
  // How often each code value occurs (2^bits entries).
  static std::vector<int64_t> code_histogram(const PackedTensor& t);
  static std::string code_label(size_t code) { return std::to_string(code); }
  // The codes of one row, unpacked.
  static void unpack_row(const PackedTensor& t, int64_t row, uint8_t* codes);
  static std::string layout(const PackedTensor&) { return {}; }
  static void dequantize_rows(const PackedTensor& t, int64_t row_begin, int64_t row_end, float* out);
  // Scalar reference Y[n][rows] = X[n][cols] Ŵᵀ for output rows [row_begin, row_end): each row is
  // dequantized once and dotted with every token (the spec every faster kernel is tested against).
  static void gemm_reference(const PackedTensor& t, const float* x, size_t n, float* y, int64_t row_begin,
                             int64_t row_end);
  static AffineForm affine_form(const PackedTensor& t);
  // Exact: 8-bit g32 symmetric as Q8_0 (d · q, q = code − 128) and 4-bit g32 symmetric as Q4_0
  // (d · (q − 8), q = code), d = the stored fp16 scale (uniform_ggml.cpp).
  static std::optional<GgmlBlocks> ggml_blocks(const PackedTensor& t, std::string* why);
};

// k = ⌊32 / b⌋ codes per word, never straddling: 3-bit codes leave 2 spare bits.
static_assert(UniformFormat::codes_per_word(2) == 16 && UniformFormat::codes_per_word(3) == 10 &&
              UniformFormat::codes_per_word(4) == 8 && UniformFormat::codes_per_word(8) == 4);
static_assert(UniformFormat::words_per_row(128, 3) == 13);

}  // namespace mixq::formats
