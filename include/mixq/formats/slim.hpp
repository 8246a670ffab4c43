#pragma once
// Format `slim` (SliM-LLM; docs/DESIGN.md "Format slim"): groups of G consecutive input columns spanning all
// rows, each group with its own width b_g ∈ {N−1, N, N+1} (N = the target average, 2…7), and a
// grid per (row, group).
//
// Layout (golden vectors in tests/unit/slim_format_test.cpp):
//   part "widths" U8  [1, ⌈groups/4⌉]: 2 bits per group, value b_g − (N − 1) ∈ {0, 1, 2}; group g
//                 is bits [2·(g mod 4), 2·(g mod 4) + 2) of byte ⌊g/4⌋ (unused bits 0). Relative to
//                 N so that 2 bits cover every target, not only 1…4-bit widths.
//   part "codes"  U8  [rows, B]: each row is the groups in column order, group g as a
//                 little-endian bit stream of ⌈len_g · b_g / 32⌉ 32-bit words: code i of the
//                 group is bits [i·b_g, i·b_g + b_g) of the stream (3-, 5-, 6- and 7-bit codes
//                 may straddle two words: 32 codes of 3 bits are exactly 3 words, so the payload
//                 averages exactly N bits when G is a multiple of 32); unused bits 0.
//                 B = 4 · Σ_g words_g is the same for every row.
//   part "scales" F16 [rows, groups]
//   part "zeros"  F16 [rows, groups]
// Values: b_g ≥ 2: w = scale · (code − zero), zero an integer (GPTQ's grid).
//         b_g = 1: w = μ + α·(2·code − 1): code 1 above the row's group mean μ, 0 below, with
//                  scale = α (mean |w|) and zero = μ — the mean offset is kept (the official
//                  kernel drops it; see docs/DESIGN.md "SliM-LLM published code versus mixq").
// Bits/weight count every byte: codes, scales, zeros and the width map.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mixq/formats/affine_form.hpp"
#include "mixq/formats/ggml_blocks.hpp"
#include "mixq/formats/packed_tensor.hpp"

namespace mixq::formats {

struct SlimParams {
  int bits = 2;     // N: the average width of the integer payload
  int group = 128;  // G: input columns per group (the last group may be shorter)
  // What SliM-LLM's allocation chose ({"p", "p_first", "mean_kl"}), recorded by the method for
  // `mixq inspect`; null when none was. Not needed to decode.
  nlohmann::json sba = nullptr;

  void validate() const;  // Error for N outside 2…7 or G not positive
  int64_t groups(int64_t cols) const { return (cols + group - 1) / group; }
  int64_t group_len(int64_t cols, int64_t g) const { return std::min<int64_t>(group, cols - g * group); }
  nlohmann::json to_json() const;
  static SlimParams from_json(const nlohmann::json& j);
};

struct SlimFormat {
  using Params = SlimParams;
  static constexpr std::string_view name = "slim";

  // 32-bit words holding a stream of `len` codes of width `bits`.
  static constexpr int64_t words_for(int64_t len, int bits) { return (len * bits + 31) / 32; }
  // Bytes of one row's codes for these group widths.
  static int64_t row_code_bytes(int64_t cols, const SlimParams& p, std::span<const int> widths);
  static size_t bytes_for(int64_t rows, int64_t cols, const SlimParams& p, std::span<const int> widths);
  // bytes_for of t's own shape and parameters: what bits/weight must be counted from.
  static size_t stored_bytes(const PackedTensor& t);
  // A valid tensor of random codes, with parameters drawn from `seed` among the format's
  // choices: what the format contract test walks for every registered format.
  static PackedTensor random(int64_t rows, int64_t cols, uint64_t seed);

  // Packs codes [rows][cols] (code of column i < 2^width of its group) with per-(row, group)
  // scales and zeros (1-bit groups: α and μ) and one width per group (each N−1…N+1).
  static PackedTensor pack(int64_t rows, int64_t cols, std::span<const int> widths, std::span<const uint8_t> codes,
                           std::span<const float> scales, std::span<const float> zeros, const SlimParams& p);
  // The per-group widths stored in t (after validate()).
  static std::vector<int> widths(const PackedTensor& t);
  static void validate(const PackedTensor& t);
  // How many groups have each width 1…N+1 (entry b − 1): the bit map at a glance.
  static std::vector<int64_t> code_histogram(const PackedTensor& t);
  static std::string code_label(size_t code) { return std::to_string(code + 1) + "b"; }
  // "widths 1 2 3 2 (p = 1)": each group's width in column order, and SBA's p when recorded.
  static std::string layout(const PackedTensor& t);
  static void dequantize_rows(const PackedTensor& t, int64_t row_begin, int64_t row_end, float* out);
  static void gemm_reference(const PackedTensor& t, const float* x, size_t n, float* y, int64_t row_begin,
                             int64_t row_end);
  static AffineForm affine_form(const PackedTensor& t);
  static std::optional<GgmlBlocks> ggml_blocks(const PackedTensor&, std::string* why) {
    *why = "slim's per-group widths have no ggml type";
    return std::nullopt;
  }
};

// 32 three-bit codes fill exactly 3 words, so with G a multiple of 32 a group at N ± 1 bits
// costs exactly (N ± 1)·G bits and the payload averages N.
static_assert(SlimFormat::words_for(32, 3) == 3 && SlimFormat::words_for(32, 1) == 1 && SlimFormat::words_for(128, 3) == 12);
static_assert(SlimFormat::words_for(33, 3) == 4);  // a straddling code takes a word more

}  // namespace mixq::formats
