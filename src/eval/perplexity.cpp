#include "mixq/eval/perplexity.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include "mixq/core/error.hpp"
#include "mixq/core/progress.hpp"

#include <nlohmann/json.hpp>

namespace mixq::eval {

const char* protocol_name(PplProtocol p) {
  switch (p) {
    case PplProtocol::Gptq: return "gptq";
    case PplProtocol::LlamaCpp: return "llamacpp";
    case PplProtocol::Llama2c: return "llama2c";
  }
  return "?";
}

PplProtocol parse_protocol(const std::string& s) {
  for (auto p : {PplProtocol::Gptq, PplProtocol::LlamaCpp, PplProtocol::Llama2c})
    if (s == protocol_name(p)) return p;
  fail("--protocol", "unknown perplexity protocol '{}' (gptq, llamacpp, llama2c)", s);
}

std::vector<int> tokenize_eval_text(const io::Tokenizer& tok, std::string_view text, bool split_blocks) {
  if (text.empty()) fail("evaluation text", "is empty");
  if (!split_blocks) return tok.encode(text, true);
  std::vector<int> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find("\n\n", start);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view block = text.substr(start, end - start);
    if (!block.empty()) {
      const auto ids = tok.encode(block, true);
      out.insert(out.end(), ids.begin(), ids.end());
    }
    start = end + 2;
  }
  if (out.empty()) fail("evaluation text", "holds no text (only blank lines)");
  return out;
}


namespace {

// log Σ exp(logits), stably.
double log_sum_exp(const float* logits, int vocab) {
  const float mx = *std::max_element(logits, logits + vocab);
  double sum = 0;
  for (int i = 0; i < vocab; ++i) sum += std::exp(double(logits[i]) - mx);
  return std::log(sum) + mx;
}

}  // namespace

double token_nll(const float* logits, int vocab, int target) { return log_sum_exp(logits, vocab) - double(logits[target]); }

double logits_kl(const float* p, const float* q, int vocab) {
  const double lp = log_sum_exp(p, vocab), lq = log_sum_exp(q, vocab);
  double kl = 0;
  for (int i = 0; i < vocab; ++i) {
    const double log_p = double(p[i]) - lp;
    kl += std::exp(log_p) * (log_p - (double(q[i]) - lq));
  }
  return std::max(kl, 0.0);
}

namespace {

void record_position(WindowScores& s, const float* logits, int vocab, double nll, int top_k) {
  s.nll.push_back(nll);
  if (top_k <= 0) return;
  std::vector<int> ids(static_cast<size_t>(vocab));
  for (int i = 0; i < vocab; ++i) ids[size_t(i)] = i;
  const size_t k = std::min(size_t(top_k), ids.size());
  // Ties by id, so the list is the same whatever the sort's implementation.
  std::partial_sort(ids.begin(), ids.begin() + long(k), ids.end(),
                    [&](int a, int b) { return logits[a] != logits[b] ? logits[a] > logits[b] : a < b; });
  auto& top = s.top.emplace_back();
  for (size_t i = 0; i < k; ++i) top.emplace_back(ids[i], logits[ids[i]]);
}

}  // namespace

std::string per_token_json(const std::vector<WindowScores>& windows) {
  nlohmann::json out = nlohmann::json::array();
  for (const WindowScores& w : windows) {
    nlohmann::json j = {{"ids", w.ids}, {"nll", w.nll}, {"first_scored", w.first_scored}};
    if (!w.top.empty()) j["top"] = w.top;
    out.push_back(std::move(j));
  }
  return nlohmann::json{{"windows", out}}.dump() + "\n";
}

PerplexityResult perplexity(model::LlamaModel& model, std::span<const int> stream, const PerplexityOptions& opt) {
  const auto& cfg = model.config();
  const int ctx = opt.ctx > 0 ? opt.ctx : cfg.seq_len;
  if (opt.ctx < 0) fail("--ctx", "must be positive, got {}", opt.ctx);
  if (opt.ctx == 0 && ctx < 2)
    fail("model", "its context length (seq_len / max_position_embeddings) is {}: too short to evaluate, at least 2", ctx);
  if (ctx > cfg.seq_len) fail("--ctx", "{} is larger than the model's context length {}", ctx, cfg.seq_len);
  if (ctx < 2) fail("--ctx", "must be at least 2, got {}", ctx);
  // Window length in stream tokens, and the first prediction index scored within a window.
  const size_t window = opt.protocol == PplProtocol::Llama2c ? size_t(ctx) + 1 : size_t(ctx);
  const size_t first_scored = opt.protocol == PplProtocol::LlamaCpp ? size_t(ctx) / 2 : 0;
  size_t windows = stream.size() / window;
  if (windows == 0)
    fail("evaluation text", "has {} tokens, fewer than one window of {} ({} protocol)", stream.size(), window,
         protocol_name(opt.protocol));
  if (opt.max_windows) windows = std::min(windows, opt.max_windows);

  const int vocab = cfg.vocab_size;
  const size_t batch = size_t(std::max(1, opt.batch));
  model::KvCache cache(cfg, ctx);
  std::vector<float> logits(batch * size_t(vocab));
  if (opt.reference && opt.reference->config().vocab_size != vocab)
    fail("reference model", "vocabulary {} differs from the model's {}", opt.reference->config().vocab_size, vocab);
  std::optional<model::KvCache> ref_cache;
  std::vector<float> ref_logits;
  if (opt.reference) {
    ref_cache.emplace(opt.reference->config(), ctx);
    ref_logits.resize(logits.size());
  }
  double total_kl = 0;
  size_t agree = 0;
  std::vector<int> tokens(window);
  PerplexityResult r{opt.protocol, ctx};
  double total = 0;
  Progress progress(fmt::format("ppl {} ctx {}", protocol_name(opt.protocol), ctx), windows, opt.progress);
  for (size_t w = 0; w < windows; ++w) {
    std::copy_n(stream.begin() + long(w * window), window, tokens.begin());
    if (opt.protocol == PplProtocol::LlamaCpp && opt.bos_id >= 0) tokens[0] = opt.bos_id;  // llama.cpp starts every chunk with BOS
    WindowScores* scores = nullptr;
    if (opt.per_token) {
      scores = &opt.per_token->emplace_back();
      scores->ids = tokens;
      scores->first_scored = first_scored;
    }
    const size_t predictions = window - 1;  // inputs 0..window-2 predict tokens 1..window-1
    for (size_t b = 0; b < predictions; b += batch) {
      const size_t n = std::min(batch, predictions - b);
      const auto chunk = std::span<const int>(tokens).subspan(b, n);
      model.forward(chunk, int(b), cache, logits.data(), true);
      if (opt.reference) opt.reference->forward(chunk, int(b), *ref_cache, ref_logits.data(), true);
      for (size_t i = 0; i < n; ++i) {
        const float* li = &logits[i * size_t(vocab)];
        const bool scored = b + i >= first_scored;
        if (!scored && !scores) continue;
        const double nll = token_nll(li, vocab, tokens[b + i + 1]);  // once, for the mean and the file
        if (scores) record_position(*scores, li, vocab, nll, opt.top_k);
        if (!scored) continue;
        total += nll;
        ++r.scored_tokens;
        if (!opt.reference) continue;
        const float* ri = &ref_logits[i * size_t(vocab)];
        total_kl += logits_kl(ri, li, vocab);
        agree += std::max_element(ri, ri + vocab) - ri == std::max_element(li, li + vocab) - li;
      }
    }
    ++r.windows;
    progress.advance(1, fmt::format("ppl {:.4f}", std::exp(total / double(r.scored_tokens))));
  }
  r.mean_nll = total / double(r.scored_tokens);
  r.ppl = std::exp(r.mean_nll);
  r.mean_kl = total_kl / double(r.scored_tokens);
  r.top1_agreement = double(agree) / double(r.scored_tokens);
  return r;
}

}  // namespace mixq::eval
