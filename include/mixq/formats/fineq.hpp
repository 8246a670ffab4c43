#pragma once
// Format `fineq` (FineQ, Xie et al. DATE 2025 — our specification, docs/DESIGN.md "Format fineq"): weights in
// clusters of 3 consecutive input columns of a row, one byte per cluster, one fp16 step Δ per row
// (or per group of G input columns, G a multiple of 3).
//
// Byte layout (golden vectors in tests/unit/fineq_format_test.cpp):
//   bits 7–6  index: 00 = three INT2 codes; 01/10/11 = weight 0/1/2 pruned to exactly 0
//   idx 00    bits 5–4, 3–2, 1–0: q0, q1, q2 (2-bit two's complement, −2…1)
//   idx ≠ 00  bits 5–3, 2–0: the two kept weights in ascending position (3-bit two's complement, −4…3)
// Values, in half-steps h (weight = h · Δ/2), by grid option:
//   INT3 `wide` (paper, default): h = 2q (q·Δ, −4Δ…3Δ)      `fine`: h = q (q·Δ/2, −2Δ…1.5Δ)
//   INT2 `twos` (paper): h = 2q (−2Δ…Δ)                      `sym` (default): h = 2q + 1 ({±1, ±3}·Δ/2)
// Rows whose length is not a multiple of 3 are padded with zero weights (their bytes are counted).
//   part "codes"  U8  [rows, ⌈cols/3⌉]
//   part "scales" F16 [rows, groups]
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mixq/core/enum_names.hpp"
#include "mixq/formats/affine_form.hpp"
#include "mixq/formats/ggml_blocks.hpp"
#include "mixq/formats/packed_tensor.hpp"

namespace mixq::formats {

// One byte per cluster: a 2-bit index and 6 data bits, three INT2 codes or two INT3 codes.
inline constexpr int kFineqIndexBits = 2, kFineqInt2Bits = 2, kFineqInt3Bits = 3;
static_assert(kFineqIndexBits + 3 * kFineqInt2Bits == 8 && kFineqIndexBits + 2 * kFineqInt3Bits == 8);

// How a cluster's mode (three INT2, or which weight is pruned) is chosen.
enum class FineqRule {
  Ratio,     // the paper: outlier cluster when max|w| > T·min|w|, the smallest pruned
  MinError,  // whichever of those two encodings reconstructs the cluster better at Δ
  BestMode,  // ours: the best of all four modes (any weight may be pruned) under the error
             // weights, GPTQ's 1/U_kk² with fineq-gptq; Δ searched under the same weights
};
// "obs" is best-mode's old name, still read in files and specs written before the rename.
inline constexpr EnumName<FineqRule> kFineqRuleNames[] = {{FineqRule::Ratio, "ratio"},
                                                          {FineqRule::MinError, "min-error"},
                                                          {FineqRule::BestMode, "best-mode"},
                                                          {FineqRule::BestMode, "obs"}};
constexpr std::span<const EnumName<FineqRule>> enum_table(FineqRule) { return kFineqRuleNames; }

// The INT3 grid of outlier clusters: Δ steps (paper) or Δ/2 steps.
enum class FineqInt3 { Wide, Fine };
inline constexpr EnumName<FineqInt3> kFineqInt3Names[] = {{FineqInt3::Wide, "wide"}, {FineqInt3::Fine, "fine"}};
constexpr std::span<const EnumName<FineqInt3>> enum_table(FineqInt3) { return kFineqInt3Names; }

// The INT2 grid: two's complement −2…1 (paper) or symmetric {±1, ±3}·Δ/2.
enum class FineqInt2 { Twos, Sym };
inline constexpr EnumName<FineqInt2> kFineqInt2Names[] = {{FineqInt2::Twos, "twos"}, {FineqInt2::Sym, "sym"}};
constexpr std::span<const EnumName<FineqInt2>> enum_table(FineqInt2) { return kFineqInt2Names; }

// Defaults are the best measured on tinystories5M (best-mode rule, INT2 sym: ppl 6.504 vs the
// paper's ratio/twos 6.622 at the same 2.73 bits/weight; see README); paper() is the paper's.
struct FineqParams {
  int group = 0;                  // input columns per scale; 0: one Δ per row; else a multiple of 3
  double threshold = 4.0;         // ratio rule: outlier cluster when max|w| > T·min|w|
  FineqRule rule = FineqRule::BestMode;
  FineqInt3 int3 = FineqInt3::Wide;
  FineqInt2 int2 = FineqInt2::Sym;

  static FineqParams paper() {
    FineqParams p;
    p.rule = FineqRule::Ratio;
    p.int2 = FineqInt2::Twos;
    return p;
  }

  void validate() const;
  int64_t padded_cols(int64_t cols) const { return (cols + 2) / 3 * 3; }
  int group_size(int64_t cols) const { return group > 0 ? group : int(padded_cols(cols)); }
  int64_t groups(int64_t cols) const { return (padded_cols(cols) + group_size(cols) - 1) / group_size(cols); }
  nlohmann::json to_json() const;
  static FineqParams from_json(const nlohmann::json& j);
};

// One cluster's mode: -1 = three INT2 codes, else the position (0–2) of the pruned weight.
int fineq_ratio_mode(const float w[3], double threshold);

// Half-step value grids of the two encodings for the chosen options.
struct FineqGrids {
  int int2_unit, int2_offset, int3_unit;  // h = unit·q + offset (INT3 offset is 0)
  explicit FineqGrids(const FineqParams& p);
  // The code of w (in half-steps of Δ/2 units: w_half = w / (Δ/2)) on each grid, clamped.
  int int2_code(float w_half) const;
  int int3_code(float w_half) const;
};

// Encodes a cluster in `mode` at step `delta` (the byte), and its squared error — weighted by
// importance[i] when given.
uint8_t fineq_encode(const float w[3], float delta, int mode, const FineqGrids& g, float* sq_error = nullptr,
                     const float* importance = nullptr);
// A byte's fields: mode −1 = three INT2 codes q (−2…1), else the pruned position (its q is 0) and
// the two kept INT3 codes (−4…3). Values in half-steps follow from FineqGrids: INT2 unit·q + offset,
// INT3 unit·q.
struct FineqCodes {
  int mode;
  std::array<int8_t, 3> q;
};
FineqCodes fineq_codes(uint8_t byte);
// 256 entries: each byte's three values in half-steps (weight = h · Δ/2).
using FineqDecodeTable = std::array<std::array<int8_t, 3>, 256>;
FineqDecodeTable fineq_decode_table(const FineqParams& p);

struct FineqFormat {
  using Params = FineqParams;
  static constexpr std::string_view name = "fineq";

  static size_t bytes_for(int64_t rows, int64_t cols, const FineqParams& p);
  // bytes_for of t's own shape and parameters: what bits/weight must be counted from.
  static size_t stored_bytes(const PackedTensor& t);
  // A valid tensor of random codes, with parameters drawn from `seed` among the format's
  // choices: what the format contract test walks for every registered format.
  static PackedTensor random(int64_t rows, int64_t cols, uint64_t seed);
  // bytes [rows][⌈cols/3⌉] (one per cluster), scales [rows][groups] (Δ per row/group).
  static PackedTensor pack(int64_t rows, int64_t cols, std::span<const uint8_t> bytes, std::span<const float> scales,
                           const FineqParams& p);
  static void validate(const PackedTensor& t);
  // Histogram of the 4 index values (00 = INT2 cluster, 01/10/11 = pruned position 0/1/2).
  static std::vector<int64_t> code_histogram(const PackedTensor& t);
  static std::string code_label(size_t code);  // int2, prune0, prune1, prune2
  static std::string layout(const PackedTensor&) { return {}; }
  static void dequantize_rows(const PackedTensor& t, int64_t row_begin, int64_t row_end, float* out);
  static void gemm_reference(const PackedTensor& t, const float* x, size_t n, float* y, int64_t row_begin,
                             int64_t row_end);
  static AffineForm affine_form(const PackedTensor& t);
  static std::optional<GgmlBlocks> ggml_blocks(const PackedTensor&, std::string* why) {
    *why = "fineq's 3-weight clusters with an outlier mode have no ggml type";
    return std::nullopt;
  }
};

}  // namespace mixq::formats
