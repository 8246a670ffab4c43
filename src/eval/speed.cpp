#include "mixq/eval/speed.hpp"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <vector>

#include "mixq/core/error.hpp"
#include "mixq/kernels/dense_f32.hpp"

namespace mixq::eval {
namespace {
double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}
}  // namespace

double measure_read_bandwidth(ThreadPool& pool, size_t bytes, int reps) {
  constexpr size_t kCols = 4096;
  const size_t rows = std::max<size_t>(1, bytes / sizeof(float) / kCols), n = rows * kCols;
  bytes = n * sizeof(float);
  std::vector<float> buf(n), ones(kCols, 1.f), y(rows);
  // Each thread touches its own slice first so pages land on its memory node.
  pool.parallel_for(n, [&](size_t b, size_t e) { std::fill(buf.begin() + long(b), buf.begin() + long(e), 1.f); }, 4096);
  const size_t parts = size_t(pool.size());
  std::vector<float> sink(parts);
  double best = 0;
  for (int r = 0; r < reps; ++r) {
    // Reader 1: one slice per thread, one stream each; dot(a, a) streams `a` once (the second
    // load of each element hits L1).
    auto t = std::chrono::steady_clock::now();
    pool.parallel_for(parts, [&](size_t b, size_t e) {
      for (size_t p = b; p < e; ++p) {
        const size_t lo = n * p / parts, hi = n * (p + 1) / parts;
        sink[p] += kernels::dot_f32(&buf[lo], &buf[lo], hi - lo);
      }
    });
    best = std::max(best, double(bytes) / seconds_since(t) / 1e9);
    // Reader 2: the fp32 GEMV over the buffer as a 4096-column matrix, several rows (streams) in
    // flight per thread as the packed kernels read; on some machines one stream per core cannot
    // saturate memory, and the probe must report what the machine can deliver.
    t = std::chrono::steady_clock::now();
    kernels::gemv_f32(buf.data(), rows, kCols, ones.data(), y.data(), pool);
    best = std::max(best, double(bytes) / seconds_since(t) / 1e9);
    sink[0] += y[0];
  }
  if (std::accumulate(sink.begin(), sink.end(), 0.f) < 0) fail("bandwidth probe", "impossible sum");
  return best;
}

SpeedResult measure_speed(model::LlamaModel& model, int prompt_tokens, int decode_tokens, int reps) {
  const auto& cfg = model.config();
  if (prompt_tokens < 1 || prompt_tokens + decode_tokens > cfg.seq_len)
    fail("bench", "prompt {} + decode {} tokens must fit the model's context of {}", prompt_tokens, decode_tokens,
         cfg.seq_len);
  std::vector<int> tokens(size_t(prompt_tokens + decode_tokens));
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = int(3 + (i * 7919) % size_t(cfg.vocab_size - 3));
  model::KvCache cache(cfg, prompt_tokens + decode_tokens);  // the positions used, not the whole context
  std::vector<float> logits(size_t(cfg.vocab_size));
  SpeedResult r{prompt_tokens, decode_tokens};
  r.weight_bytes = model.bytes_per_token();
  for (int rep = 0; rep < reps; ++rep) {
    auto t = std::chrono::steady_clock::now();
    model.forward(std::span<const int>(tokens).first(size_t(prompt_tokens)), 0, cache, logits.data(), false);
    r.prompt_tokens_per_second = std::max(r.prompt_tokens_per_second, prompt_tokens / seconds_since(t));
    t = std::chrono::steady_clock::now();
    for (int i = 0; i < decode_tokens; ++i)
      model.forward(std::span<const int>(&tokens[size_t(prompt_tokens + i)], 1), prompt_tokens + i, cache,
                    logits.data(), false);
    if (decode_tokens > 0)
      r.decode_tokens_per_second = std::max(r.decode_tokens_per_second, decode_tokens / seconds_since(t));
  }
  return r;
}

}  // namespace mixq::eval
