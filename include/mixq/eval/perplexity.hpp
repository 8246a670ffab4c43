#pragma once
// Perplexity (docs/DESIGN.md "Perplexity protocols") under three window protocols over one token stream:
//  gptq     — non-overlapping windows of ctx tokens, every next-token prediction scored;
//  llamacpp — windows of ctx tokens starting with BOS, only the second half scored (llama.cpp);
//  llama2c  — non-overlapping windows of ctx+1 tokens, ctx targets each (shared/models/README.md).
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mixq/io/tokenizer.hpp"
#include "mixq/model/llama.hpp"

namespace mixq::eval {

enum class PplProtocol { Gptq, LlamaCpp, Llama2c };
const char* protocol_name(PplProtocol p);
PplProtocol parse_protocol(const std::string& s);

// One evaluated window, position by position (`eval --per-token`): nll[j] = −ln p(ids[j+1] | ids[0..j])
// for every prediction of the window (the protocol scores those from first_scored on), and with
// top_k > 0 the k largest logits at each position as (id, logit), largest first.
struct WindowScores {
  std::vector<int> ids;
  std::vector<double> nll;
  size_t first_scored = 0;
  std::vector<std::vector<std::pair<int, float>>> top;
};

struct PerplexityOptions {
  PplProtocol protocol = PplProtocol::Gptq;
  int ctx = 0;               // 0: the model's seq_len
  size_t max_windows = 0;    // 0: every full window of the stream
  int batch = 128;           // tokens per forward call (bounds logits memory)
  bool progress = true;
  // When set, the same windows also run through this (fp) model and the result reports the
  // KL divergence KL(P_reference ‖ P_model) and top-1 agreement on every scored position.
  model::LlamaModel* reference = nullptr;
  // The id the llamacpp protocol writes at each window's start, as llama-perplexity does; -1: the
  // tokenizer has none (Qwen), and the window is left as the text has it.
  int bos_id = 1;
  // When set, every window's ids and per-position NLL are appended here (top_k logits with them).
  std::vector<WindowScores>* per_token = nullptr;
  int top_k = 0;
};

struct PerplexityResult {
  PplProtocol protocol;
  int ctx;
  size_t windows = 0, scored_tokens = 0;
  double mean_nll = 0, ppl = 0;
  double mean_kl = 0, top1_agreement = 0;  // only with a reference model
};

// The evaluation token stream. Whole text: BOS + encode(text) (GPTQ's recipe). Split blocks:
// the text cut on "\n\n", each non-empty block BOS + encode(block), concatenated (llama2.c's).
std::vector<int> tokenize_eval_text(const io::Tokenizer& tok, std::string_view text, bool split_blocks);

PerplexityResult perplexity(model::LlamaModel& model, std::span<const int> stream, const PerplexityOptions& opt);

// {"windows": [{"ids": [...], "nll": [...], "first_scored": k, "top": [[[id, logit], ...], ...]}, ...]}
std::string per_token_json(const std::vector<WindowScores>& windows);

// -log softmax(logits)[target], computed stably in double.
double token_nll(const float* logits, int vocab, int target);
// KL(softmax(p) ‖ softmax(q)) of two logit vectors, in double.
double logits_kl(const float* p, const float* q, int vocab);

}  // namespace mixq::eval
