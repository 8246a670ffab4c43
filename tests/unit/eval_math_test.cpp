// The per-token quantities every perplexity and KL figure is built from, against values worked
// out by hand: logits ln 1, ln 2, ln 3, ln 4 give the distribution 0.1, 0.2, 0.3, 0.4.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "mixq/eval/perplexity.hpp"

namespace mixq::eval {

TEST(EvalMath, TokenNllIsMinusTheLogOfTheTargetsProbability) {
  const std::vector<float> logits = {std::log(1.f), std::log(2.f), std::log(3.f), std::log(4.f)};
  EXPECT_NEAR(token_nll(logits.data(), 4, 2), -std::log(0.3), 1e-6);  // 1.2039728
  EXPECT_NEAR(token_nll(logits.data(), 4, 3), -std::log(0.4), 1e-6);
  // Softmax ignores a constant shift, even one that would overflow a naive exp.
  std::vector<float> shifted = logits;
  for (float& v : shifted) v += 1000.f;
  EXPECT_NEAR(token_nll(shifted.data(), 4, 2), -std::log(0.3), 1e-4);
  const std::vector<float> flat(512, 0.f);
  EXPECT_NEAR(token_nll(flat.data(), 512, 7), std::log(512.0), 1e-6);
}

TEST(EvalMath, LogitsKlIsKlOfTheFirstDistributionFromTheSecond) {
  const std::vector<float> p = {std::log(1.f), std::log(2.f), std::log(3.f), std::log(4.f)};
  const std::vector<float> uniform(4, 0.f);
  // Σ p log(p / 0.25) = 0.1 ln 0.4 + 0.2 ln 0.8 + 0.3 ln 1.2 + 0.4 ln 1.6
  EXPECT_NEAR(logits_kl(p.data(), uniform.data(), 4), 0.10644013528622318, 1e-6);
  // and the other direction, Σ 0.25 log(0.25 / p): KL is not symmetric
  EXPECT_NEAR(logits_kl(uniform.data(), p.data(), 4), 0.12177727428716867, 1e-6);
  EXPECT_EQ(logits_kl(p.data(), p.data(), 4), 0.0);
}

}  // namespace mixq::eval
