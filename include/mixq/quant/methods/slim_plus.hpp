#pragma once
// SliM-LLM+ (docs/DESIGN.md "SliM-LLM+"): SliM-LLM's salience-determined widths, then each decoder
// block's per-(row, group) clipping trained against the fp block (tune/block_tuning.hpp) and baked
// into the ordinary slim format — same file, same kernels. Spec:
// slim+:N[:GROUP][+official][+epochs=E][+lr=L][+batch=B][+windows=W][+fp-inputs][+aug][+bake-gptq]
// and slim's allocation flags (+no-sba, +kl-*, +search-*, +score-*). +bake-gptq stores the trained
// grids through GPTQ's error feedback (block = group), as gptq+ does, instead of rounding on them.
#include "mixq/quant/methods/slim.hpp"
#include "mixq/quant/tune/clip_tuning.hpp"

namespace mixq::quant {

struct SlimPlusOptions {
  SlimOptions slim;  // the allocation (its SQC is unused: the trained clipping sets the grids)
  ClipTuning tune;
  bool bake_gptq = false;  // +bake-gptq: GPTQ's error feedback on the trained grids (default: rounding, as published)
};

// The method table's row "slim+" (options: SlimPlusOptions).
extern const MethodInfo kSlimPlusMethod;

}  // namespace mixq::quant
