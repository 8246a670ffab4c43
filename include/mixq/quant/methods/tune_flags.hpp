#pragma once
// The block-training flags every tuned method's spec takes (slim+, rtn+, gptq+), read and written
// one way: +official +epochs=E +lr=L +batch=B +windows=W +fp-inputs +aug.
#include <string>
#include <vector>

#include "mixq/quant/methods/method_row.hpp"
#include "mixq/quant/tune/clip_tuning.hpp"

namespace mixq::quant {

inline constexpr const char* kTuneFlags = "official, epochs=E, lr=L, batch=B, windows=W, fp-inputs, aug";
#define MIXQ_TUNE_GRAMMAR "[+official][+epochs=E][+lr=L][+batch=B][+windows=W][+fp-inputs][+aug]"

struct TuneFlags {
  ClipTuning tune;                          // the official recipe when +official, then the flags
  bool official = false;                    // +official was given (it stays among `rest` too)
  std::vector<MethodArgs::Word> rest;       // the flags that are not training flags
};
// Reads a's training flags; Error naming a value out of range or not a number.
TuneFlags parse_tune_flags(const MethodArgs& a);
// The untuned method's options from a's other flags (+official left out: it names the training
// recipe), parsed by `base`'s row; Error naming the bad word and the training flags `tuned` also
// takes.
MethodOptions parse_untuned_options(const MethodArgs& a, const TuneFlags& t, const MethodInfo& base, const std::string& tuned);
// BlockTuning::reads_calibration of a row whose bake never / always runs GPTQ.
inline bool bake_reads_no_calibration(const MethodOptions&) { return false; }
inline bool bake_runs_gptq(const MethodOptions&) { return true; }
// "+epochs=E…" for each option that differs from the recipe's defaults (official's when official).
std::string tune_spec_tail(const ClipTuning& t, bool official);

}  // namespace mixq::quant
