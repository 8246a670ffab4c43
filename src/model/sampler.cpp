#include "mixq/model/sampler.hpp"

#include <algorithm>
#include <cmath>

#include "mixq/core/error.hpp"

namespace mixq::model {

Sampler::Sampler(int vocab_size, SamplerOptions options)
    : vocab_size_(vocab_size), opt_(options), state_(options.seed), candidates_(size_t(vocab_size)) {
  if (!(opt_.temperature >= 0.f) || !std::isfinite(opt_.temperature))
    fail("sampler", "temperature must be >= 0, got {}", opt_.temperature);
  if (!(opt_.top_p >= 0.f && opt_.top_p <= 1.f)) fail("sampler", "top-p must be in [0, 1], got {}", opt_.top_p);
}

float Sampler::random_f32() {  // run.c: xorshift*, 24 random bits
  state_ ^= state_ >> 12;
  state_ ^= state_ << 25;
  state_ ^= state_ >> 27;
  const uint32_t r = uint32_t((state_ * 0x2545F4914F6CDD1Dull) >> 32);
  return float(r >> 8) / 16777216.0f;
}

int Sampler::sample(float* logits) {
  const int n = vocab_size_;
  if (opt_.temperature == 0.f) return int(std::max_element(logits, logits + n) - logits);
  for (int i = 0; i < n; ++i) logits[i] /= opt_.temperature;
  const float mx = *std::max_element(logits, logits + n);
  float sum = 0.f;
  for (int i = 0; i < n; ++i) sum += (logits[i] = std::exp(logits[i] - mx));
  for (int i = 0; i < n; ++i) logits[i] /= sum;
  const float coin = random_f32();
  if (opt_.top_p <= 0.f || opt_.top_p >= 1.f) {
    float cdf = 0.f;
    for (int i = 0; i < n; ++i)
      if (coin < (cdf += logits[i])) return i;
    return n - 1;
  }
  // Top-p: tokens below (1 - p) / (n - 1) cannot be in the nucleus, so skip sorting them.
  const float cutoff = (1.0f - opt_.top_p) / float(n - 1);
  size_t m = 0;
  for (int i = 0; i < n; ++i)
    if (logits[i] >= cutoff) candidates_[m++] = {logits[i], i};
  // Nearly flat distributions can leave every token under the cutoff; the nucleus always holds
  // the most likely token, so it alone is the candidate.
  if (m == 0) {
    const int best = int(std::max_element(logits, logits + n) - logits);
    candidates_[m++] = {logits[best], best};
  }
  std::stable_sort(candidates_.begin(), candidates_.begin() + long(m),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  float cum = 0.f;
  size_t last = m - 1;
  for (size_t i = 0; i < m; ++i) {
    cum += candidates_[i].first;
    if (cum > opt_.top_p) {
      last = i;
      break;
    }
  }
  const float r = coin * cum;
  float cdf = 0.f;
  for (size_t i = 0; i <= last; ++i)
    if (r < (cdf += candidates_[i].first)) return candidates_[i].second;
  return candidates_[last].second;
}

}  // namespace mixq::model
