#pragma once
// llama.cpp's tensor names for the "llama" architecture (src/llama-arch.cpp) beside mixq's:
// one table that GGUF export and import share.
#include <string>

#include "mixq/io/llama_config.hpp"

namespace mixq::io::gguf_names {

struct LayerTensor {
  std::string (*name)(int layer);  // mixq's name
  const char* gguf;                // blk.<layer>.<gguf>.weight
  bool vector;                     // a norm: stored F32 whatever the weights' dtype
};
inline constexpr LayerTensor kLayerTensors[] = {
    {names::attn_norm, "attn_norm", true}, {names::wq, "attn_q", false},      {names::wk, "attn_k", false},
    {names::wv, "attn_v", false},          {names::wo, "attn_output", false}, {names::ffn_norm, "ffn_norm", true},
    {names::w1, "ffn_gate", false},        {names::w2, "ffn_down", false},    {names::w3, "ffn_up", false},
};
inline std::string layer_name(int layer, const LayerTensor& t) { return "blk." + std::to_string(layer) + "." + t.gguf + ".weight"; }

inline constexpr const char* kEmbedding = "token_embd.weight";
inline constexpr const char* kFinalNorm = "output_norm.weight";
inline constexpr const char* kClassifier = "output.weight";

}  // namespace mixq::io::gguf_names
