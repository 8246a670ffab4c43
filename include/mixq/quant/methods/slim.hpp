#pragma once
// SliM-LLM (docs/DESIGN.md "SliM-LLM procedure"): salience order of the groups, SBA's search of
// p on the calibration inputs' output distributions, then GPTQ with block = group and SQC at
// each group start. Spec: slim:N[:GROUP][+official][+no-sba][+no-sqc][+lambda=L][+kl-fp-q|+kl-q-fp]
// [+mask-salience|+mask-weights][+search-rtn|+search-gptq][+score-kl|+score-mse][+true-seq]
// (group default 128).
#include <optional>
#include <span>
#include <vector>

#include <nlohmann/json.hpp>

#include "mixq/core/enum_names.hpp"
#include "mixq/core/tensor.hpp"
#include "mixq/formats/slim.hpp"
#include "mixq/quant/methods/method_row.hpp"

namespace mixq::quant {

// SBA's score direction: KL(P_fp‖P_q) (the paper's Eq. 4) or KL(P_q‖P_fp) (the published code).
enum class SlimKl { FpQ, QFp };
inline constexpr EnumName<SlimKl> kSlimKlNames[] = {{SlimKl::FpQ, "fp-q"}, {SlimKl::QFp, "q-fp"}};
constexpr std::span<const EnumName<SlimKl>> enum_table(SlimKl) { return kSlimKlNames; }

// SBA's candidates: RTN of W at the candidate widths (published) or as they will be stored (ours).
enum class SlimSearch { Rtn, Gptq };
inline constexpr EnumName<SlimSearch> kSlimSearchNames[] = {{SlimSearch::Rtn, "rtn"}, {SlimSearch::Gptq, "gptq"}};
constexpr std::span<const EnumName<SlimSearch>> enum_table(SlimSearch) { return kSlimSearchNames; }

// SBA's score: output KL (published) or the layer-output error tr(ΔW H ΔWᵀ) (ours; search gptq).
enum class SlimScore { Kl, Mse };
inline constexpr EnumName<SlimScore> kSlimScoreNames[] = {{SlimScore::Kl, "kl"}, {SlimScore::Mse, "mse"}};
constexpr std::span<const EnumName<SlimScore>> enum_table(SlimScore) { return kSlimScoreNames; }

// SQC's salient set: 2σ on w²/U_jj² (the code) or 3σ on w (the paper).
enum class SlimMask { Salience, Weights };
inline constexpr EnumName<SlimMask> kSlimMaskNames[] = {{SlimMask::Salience, "salience"}, {SlimMask::Weights, "weights"}};
constexpr std::span<const EnumName<SlimMask>> enum_table(SlimMask) { return kSlimMaskNames; }

// Defaults fix what the published code gets wrong (p = 0 searched, one damp for search and
// apply, the paper's KL direction); `official` follows the published code exactly so the two
// recipes can be compared.
struct SlimOptions {
  formats::SlimParams format;  // N (average bits) and G (group size)
  bool sba = true;             // salience-determined bit allocation (off: every group N bits)
  bool sqc = true;             // salience-weighted quantizer calibration (off: min-max grid)
  bool official = false;       // p ∈ 1…groups/2−1, absolute damp 0.01 for the search, KL(q‖fp)
  double lambda = 1.0;         // SQC: weight of salient weights' error (1 = published: inert)
  std::optional<SlimKl> kl;    // unset: the recipe's (official: q-fp; ours: fp-q)
  SlimSearch search = SlimSearch::Rtn;
  SlimScore score = SlimScore::Kl;
  SlimMask mask = SlimMask::Salience;

  static SlimKl recipe_kl(bool official) { return official ? SlimKl::QFp : SlimKl::FpQ; }
  SlimKl kl_direction() const { return kl.value_or(recipe_kl(official)); }
  nlohmann::json to_json() const;
};
// Error for N outside 2…7, G not positive, λ < 1, or the mse score without the gptq search.
void validate_slim_options(const SlimOptions& s);

formats::PackedTensor quantize_slim(const Tensor& w, const LayerCalibration& calib, const MethodOptions& o);
// GPTQ with block = group at the given widths on fixed grids, per (row, group) in the format's
// convention (scale and zero; α and μ for 1-bit groups), with calib's Hessian: slim+'s bake-gptq.
// `recorded`: the format parameters to store (the first result's, with what SBA chose).
formats::PackedTensor quantize_slim_on_grids(const Tensor& w, const LayerCalibration& calib, const MethodOptions& o,
                                             const std::vector<int>& widths, std::span<const float> scales,
                                             std::span<const float> zeros, const formats::SlimParams& recorded);

// The method table's row "slim" (options: SlimOptions).
extern const MethodInfo kSlimMethod;

}  // namespace mixq::quant
