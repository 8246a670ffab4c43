#pragma once
// Text generation: the prompt is processed in one batch, then one token per step with the KV
// cache, stopping at BOS (llama2.c's sequence delimiter), any EOS (the tokenizer's and config.json's)
// or the context limit.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "mixq/io/tokenizer.hpp"
#include "mixq/model/llama.hpp"
#include "mixq/model/sampler.hpp"

namespace mixq::eval {

struct GenerateOptions {
  int steps = 256;  // new tokens at most
  bool echo_prompt = true;  // print the prompt's text before the generated text
  model::SamplerOptions sampler;
};

struct GenerateResult {
  std::vector<int> tokens;  // BOS, prompt, then generated tokens
  std::string text;         // decoded prompt + generated text
  size_t prompt_tokens = 0, generated_tokens = 0;
  size_t kv_cache_bytes = 0;  // what the KV cache allocated: the positions used, never the declared context
  double prompt_seconds = 0, decode_seconds = 0;
  double decode_tokens_per_second() const { return decode_seconds > 0 ? double(generated_tokens) / decode_seconds : 0; }
};

GenerateResult generate(model::LlamaModel& model, const io::Tokenizer& tok, std::string_view prompt,
                        const GenerateOptions& opt, const std::function<void(const std::string&)>& on_text = {});
// The same from prompt ids as they are (a rendered chat template brings its own special tokens).
GenerateResult generate(model::LlamaModel& model, const io::Tokenizer& tok, std::vector<int> prompt,
                        const GenerateOptions& opt, const std::function<void(const std::string&)>& on_text = {});

}  // namespace mixq::eval
