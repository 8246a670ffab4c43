#pragma once
// Synthetic Hugging Face checkpoints of real models' shapes (Llama-2-7B/13B/70B, Llama-3-8B,
// Mistral-7B, …) for scale benchmarks and tests, since no real weights of that size can be
// downloaded here: config.json, sharded safetensors with model.safetensors.index.json, and a
// tokenizer. The weights are random but shaped like trained ones, so methods meet what they meet
// on real models: per-output-channel scales, a few input columns with large weights, and norm
// weights with a few large channels (real LLMs' "massive activations"), which make the
// calibration Hessians far from the identity and give FineQ its outlier clusters.
#include <cstdint>
#include <string>
#include <vector>

#include "mixq/io/llama_config.hpp"
#include "mixq/io/safetensors.hpp"

namespace mixq::io {

struct SynthShape {
  const char* name;
  LlamaConfig config;
};
// The named shapes (real configs; "tiny" for tests).
const std::vector<SynthShape>& synth_shapes();
const LlamaConfig& synth_shape(const std::string& name);  // Error naming the choices

struct SynthOptions {
  LlamaConfig config;
  DType dtype = DType::BF16;
  uint64_t seed = 1;
  uint64_t shard_bytes = 4ull << 30;  // a new shard starts when the next tensor would pass this
  std::string tokenizer;              // a tokenizer file to copy (its vocabulary must match); empty: synthesized
  int threads = 1;
};

// Writes the checkpoint into `dir` (which must not exist or be empty). Deterministic: the same
// options give the same bytes, for any thread count. Returns the bytes of weights written.
uint64_t write_synth_checkpoint(const std::string& dir, const SynthOptions& opt);

// A llama2.c-format tokenizer (tokenizer.bin) with exactly `vocab` tokens: <unk>, BOS, EOS, the
// 256 byte tokens, printable ASCII, then letter pairs and triples, then filler pieces.
std::string synth_tokenizer_bytes(int vocab);

}  // namespace mixq::io
