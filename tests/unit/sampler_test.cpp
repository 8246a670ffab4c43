#include <gtest/gtest.h>

#include <vector>

#include "mixq/core/error.hpp"
#include "mixq/model/sampler.hpp"

namespace mixq::model {

TEST(Sampler, GreedyPicksArgmax) {
  Sampler s(4, {0.f, 0.9f, 1});
  std::vector<float> logits = {0.1f, 2.f, -1.f, 1.9f};
  EXPECT_EQ(s.sample(logits.data()), 1);
}

TEST(Sampler, TopPNeverPicksOutsideTheNucleusAndIsSeeded) {
  // Softmax of these logits: token 0 holds ~0.84 of the mass, so top-p 0.5 always picks it.
  std::vector<int> picks_a, picks_b;
  for (auto* picks : {&picks_a, &picks_b}) {
    Sampler s(3, {1.f, 0.5f, 7});
    for (int i = 0; i < 50; ++i) {
      std::vector<float> logits = {3.f, 1.f, 0.f};
      picks->push_back(s.sample(logits.data()));
    }
  }
  EXPECT_EQ(picks_a, std::vector<int>(50, 0));
  EXPECT_EQ(picks_a, picks_b);
}

TEST(Sampler, FullDistributionSamplesEveryTokenOverManyDraws) {
  Sampler s(3, {1.f, 1.f, 123});
  int counts[3] = {};
  for (int i = 0; i < 3000; ++i) {
    std::vector<float> logits = {0.f, 0.f, 0.f};
    counts[s.sample(logits.data())]++;
  }
  for (int c : counts) EXPECT_NEAR(c, 1000, 150);  // uniform: 3-sigma ≈ 77
}

TEST(Sampler, RejectsInvalidOptions) {
  EXPECT_THROW(Sampler(3, {-1.f, 0.9f, 1}), Error);
  EXPECT_THROW(Sampler(3, {1.f, 1.5f, 1}), Error);
}

}  // namespace mixq::model
