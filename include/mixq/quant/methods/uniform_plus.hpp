#pragma once
// rtn+ and gptq+ (docs/DESIGN.md "SliM-LLM+"): OmniQuant's learnable weight clipping on the
// uniform format, trained block by block exactly as slim+ trains it (tune/block_tuning.hpp), so
// every uniform row of a table exists with and without it at identical bytes.
//   rtn+:  each group rounded to nearest on its trained grid (OmniQuant's LWC).
//   gptq+: GPTQ's error feedback on the trained grids, which stay fixed (static groups).
// Spec: rtn+|gptq+:BITS[:GROUP|row][+official][+epochs=E][+lr=L][+batch=B][+windows=W]
// [+fp-inputs][+aug] (gptq+ also +act-order, +true-seq). The grids are asymmetric: +sym and +mse
// are refused.
#include "mixq/quant/methods/method_row.hpp"
#include "mixq/quant/methods/uniform_options.hpp"
#include "mixq/quant/tune/clip_tuning.hpp"

namespace mixq::quant {

struct UniformPlusOptions {
  UniformOptions uniform;
  ClipTuning tune;
  bool official = false;  // the tuning is the published recipe's (+official)
};

// The method table's rows "rtn+" and "gptq+" (options: UniformPlusOptions).
extern const MethodInfo kRtnPlusMethod;
extern const MethodInfo kGptqPlusMethod;

}  // namespace mixq::quant
