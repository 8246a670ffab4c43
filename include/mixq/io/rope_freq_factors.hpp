#pragma once
// RoPE scaling as llama.cpp stores it in a GGUF: not the config's rule but its result, one divisor
// per rotation pair of a head (the F32 tensor rope_freqs.weight; llama.cpp rotates pair j by
// pos · θ_j / factor_j). llama.cpp's converter writes it for Llama-3.1's "llama3" rope_scaling.
#include <vector>

#include "mixq/io/llama_config.hpp"

namespace mixq::io {

inline constexpr const char* kRopeFreqsTensor = "rope_freqs.weight";

// The divisors of c's RoPE scaling, computed as llama.cpp's converter does (conversion/llama.py,
// float32): for Llama3 1 for wavelengths under original_context / high_freq_factor, `factor` over
// original_context / low_freq_factor, 1 / ((1 − s) / factor + s) between; FreqFactors' own; empty
// for None and Linear (which GGUF says with keys).
std::vector<float> rope_freq_factors(const LlamaConfig& c);

// The scaling a GGUF's divisors stand for, c being the rest of its config: None when every factor
// is 1; Llama3 with the parameters of every released Llama-3.1/3.2/3.3 (low 1, high 4, original
// context 8192, factor the largest divisor) when the converter's factors for those equal these
// within float rounding, so an imported model's config is what its HF checkpoint says; otherwise
// FreqFactors, applied as llama.cpp applies them.
RopeScaling rope_scaling_of_freq_factors(std::vector<float> factors, const LlamaConfig& c);

}  // namespace mixq::io
