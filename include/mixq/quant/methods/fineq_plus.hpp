#pragma once
// fineq-rtn+ and fineq-gptq+ (docs/DESIGN.md "fineq-rtn+ and fineq-gptq+"): FineQ's step Δ per
// (row, group) trained block by block as slim+ trains its clipping (tune/block_tuning.hpp,
// tune/learnable_step.hpp), each cluster's mode chosen by the format's rule at the current Δ, so
// the fineq rows of a table exist with and without training at identical bytes.
//   fineq-rtn+:  every cluster encoded at its trained Δ.
//   fineq-gptq+: fineq-gptq's error feedback at the trained Δ, held fixed.
// Spec: fineq-rtn+|fineq-gptq+[:GROUP|row][fineq's flags][+official][+epochs=E][+lr=L][+batch=B]
// [+windows=W][+fp-inputs][+aug].
#include "mixq/quant/methods/fineq.hpp"
#include "mixq/quant/methods/method_row.hpp"
#include "mixq/quant/tune/clip_tuning.hpp"

namespace mixq::quant {

struct FineqPlusOptions {
  FineqOptions fineq;
  ClipTuning tune;
  bool official = false;  // the tuning is the published recipe's (+official)
};

// The method table's rows "fineq-rtn+" and "fineq-gptq+" (options: FineqPlusOptions).
extern const MethodInfo kFineqRtnPlusMethod;
extern const MethodInfo kFineqGptqPlusMethod;

}  // namespace mixq::quant
