#pragma once
// llama.cpp's architectures and tensor names (src/llama-arch.cpp) beside mixq's: the tables GGUF
// export and import share.
#include <string>

#include "mixq/io/llama_config.hpp"

namespace mixq::io::gguf_names {

// A llama.cpp architecture mixq reads and writes: the model family it is, what its layers add,
// and whether its RoPE rotates halves of each head (llama.cpp's NEOX type, HF's rotate_half: q/k
// rows are stored in HF's order) rather than adjacent pairs (mixq's order, llama's files).
struct Architecture {
  const char* name;  // general.architecture, and the prefix of its keys
  io::Architecture family;
  bool qkv_bias, qk_norm, rotate_half;
};
inline constexpr Architecture kArchitectures[] = {
    {"llama", io::Architecture::Llama, false, false, false},
    {"qwen2", io::Architecture::Qwen2, true, false, true},
    {"qwen3", io::Architecture::Qwen3, false, true, true},
};

struct LayerTensor {
  std::string (*name)(int layer);  // mixq's name
  const char* gguf;                // blk.<layer>.<gguf>
  bool vector;                     // a norm or bias: stored F32 whatever the weights' dtype
  bool (*present)(const LlamaConfig&);
};
inline bool always(const LlamaConfig&) { return true; }
inline bool with_qkv_bias(const LlamaConfig& c) { return c.qkv_bias; }
inline bool with_qk_norm(const LlamaConfig& c) { return c.qk_norm; }
inline constexpr LayerTensor kLayerTensors[] = {
    {names::attn_norm, "attn_norm.weight", true, always},     {names::wq, "attn_q.weight", false, always},
    {names::wk, "attn_k.weight", false, always},              {names::wv, "attn_v.weight", false, always},
    {names::wo, "attn_output.weight", false, always},         {names::ffn_norm, "ffn_norm.weight", true, always},
    {names::w1, "ffn_gate.weight", false, always},            {names::w2, "ffn_down.weight", false, always},
    {names::w3, "ffn_up.weight", false, always},              {names::bq, "attn_q.bias", true, with_qkv_bias},
    {names::bk, "attn_k.bias", true, with_qkv_bias},          {names::bv, "attn_v.bias", true, with_qkv_bias},
    {names::q_norm, "attn_q_norm.weight", true, with_qk_norm}, {names::k_norm, "attn_k_norm.weight", true, with_qk_norm},
};
inline std::string layer_name(int layer, const LayerTensor& t) { return "blk." + std::to_string(layer) + "." + t.gguf; }

inline constexpr const char* kEmbedding = "token_embd.weight";
inline constexpr const char* kFinalNorm = "output_norm.weight";
inline constexpr const char* kClassifier = "output.weight";

}  // namespace mixq::io::gguf_names
