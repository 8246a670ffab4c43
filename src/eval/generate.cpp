#include "mixq/eval/generate.hpp"

#include <algorithm>
#include <chrono>

#include "mixq/core/error.hpp"

namespace mixq::eval {

GenerateResult generate(model::LlamaModel& model, const io::Tokenizer& tok, std::string_view prompt,
                        const GenerateOptions& opt, const std::function<void(const std::string&)>& on_text) {
  return generate(model, tok, tok.encode(prompt, true), opt, on_text);
}

GenerateResult generate(model::LlamaModel& model, const io::Tokenizer& tok, std::vector<int> prompt,
                        const GenerateOptions& opt, const std::function<void(const std::string&)>& on_text) {
  using clock = std::chrono::steady_clock;
  const auto& cfg = model.config();
  if (opt.steps < 0) fail("--steps", "must be >= 0, got {}", opt.steps);
  GenerateResult r;
  r.tokens = std::move(prompt);
  r.prompt_tokens = r.tokens.size();
  if (r.tokens.empty()) fail("prompt", "is empty and the tokenizer has no BOS to start from: give a prompt");
  if (int(r.tokens.size()) >= cfg.seq_len)
    fail("prompt", "{} tokens do not leave room in the model's context of {}", r.tokens.size(), cfg.seq_len);
  // Sized to the positions this run can reach, not the model's whole context: a file's seq_len
  // must not decide how much memory a short generation takes.
  model::KvCache cache(cfg, int(std::min<int64_t>(cfg.seq_len, int64_t(r.tokens.size()) + opt.steps)));
  r.kv_cache_bytes = (cache.k.size() + cache.v.size()) * sizeof(float);
  // Only ids the tokenizer can decode are drawn: the rows Qwen pads its embedding with are not tokens.
  model::Sampler sampler(std::min(cfg.vocab_size, tok.vocab_size()), opt.sampler);
  // BOS (llama2.c's sequence delimiter), the tokenizer's EOS and every EOS config.json names (Llama-3
  // instruct models end a turn with <|eot_id|>, base models a text with <|end_of_text|>).
  std::vector<int> stop = cfg.eos_token_ids;
  stop.insert(stop.end(), {tok.bos_id(), tok.eos_id()});
  std::vector<float> logits(size_t(cfg.vocab_size));
  auto emit = [&](int prev, int token) {
    const std::string piece = tok.decode(prev, token);
    r.text += piece;
    if (on_text) on_text(piece);
  };
  // The prompt echoed; a leading BOS is a marker, not text (Qwen's prompts start without one).
  for (size_t i = 0; opt.echo_prompt && i < r.tokens.size(); ++i)
    if (i > 0 || r.tokens[0] != tok.bos_id()) emit(i > 0 ? r.tokens[i - 1] : -1, r.tokens[i]);

  auto t0 = clock::now();
  model.forward(r.tokens, 0, cache, logits.data(), false);
  auto t1 = clock::now();
  r.prompt_seconds = std::chrono::duration<double>(t1 - t0).count();
  for (int step = 0; step < opt.steps; ++step) {
    const int next = sampler.sample(logits.data());
    if (std::find(stop.begin(), stop.end(), next) != stop.end()) break;
    emit(r.tokens.back(), next);
    r.tokens.push_back(next);
    ++r.generated_tokens;
    const int pos = int(r.tokens.size()) - 1;
    if (pos >= cfg.seq_len) break;
    model.forward(std::span<const int>(&r.tokens.back(), 1), pos, cache, logits.data(), false);
  }
  r.decode_seconds = std::chrono::duration<double>(clock::now() - t1).count();
  return r;
}

}  // namespace mixq::eval
