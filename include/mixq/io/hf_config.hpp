#pragma once
// Hugging Face config.json of the decoder-only families mixq runs (Llama, Mistral, Qwen2, Qwen3):
// one table row per architecture says which optional parts its layers have; every key that would
// change the computation and is not understood is refused by name rather than ignored.
#include <string>

#include "mixq/io/llama_config.hpp"
#include "mixq/io/safetensors.hpp"

namespace mixq::io {

LlamaConfig parse_hf_config(const std::string& json_text, const std::string& where);
// config.json text for `c` (the inverse of parse_hf_config), weights declared as `dtype`.
std::string hf_config_json(const LlamaConfig& c, DType dtype);
// Makes `c` a model of architecture `a`: the optional parts its family's row says its layers have.
void set_architecture(LlamaConfig& c, Architecture a);
// The config.json "architectures" name of `a` (LlamaForCausalLM, ...).
const char* architecture_name(Architecture a);

}  // namespace mixq::io
