// The FineQ step search's SIMD kernel gives the reference's bits on every Highway target: random
// weights (with outliers) at many steps, values exactly on half-steps (lround's ties, which a
// round-to-even would break the other way), with and without importance weights, every grid
// variant, and run lengths that leave clusters past the last whole vector.
#include <gtest/gtest.h>

#include <hwy/targets.h>

#include <cstring>
#include <random>

#include "mixq/kernels/fineq_step.hpp"

namespace mixq {
namespace {

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

}  // namespace

TEST(FineqStep, EverySimdTargetGivesTheReferencesBits) {
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::uniform_real_distribution<float> uniform(0.05f, 2.f);
  std::vector<float> w(3 * 200), tie(w.size()), importance(w.size());
  for (size_t i = 0; i < w.size(); ++i) {
    w[i] = normal(rng) * (i % 37 == 0 ? 12.f : 1.f);  // a few outliers, as real rows have
    importance[i] = uniform(rng);
    tie[i] = 0.25f * float(int(i % 29) - 14);  // at Δ = 0.5 every value is a whole or half step
  }
  int targets = 0, compared = 0;
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    SCOPED_TRACE(hwy::TargetName(target));
    for (auto int3 : {formats::FineqInt3::Wide, formats::FineqInt3::Fine})
      for (auto int2 : {formats::FineqInt2::Sym, formats::FineqInt2::Twos}) {
        formats::FineqParams p;
        p.int3 = int3, p.int2 = int2;
        const formats::FineqGrids g(p);
        for (int64_t n : {int64_t(600), int64_t(3), int64_t(3 * 17), int64_t(3 * 65)})
          for (const float* imp : {static_cast<const float*>(nullptr), static_cast<const float*>(importance.data())}) {
            for (float delta : {0.5f, 0.013f, 0.3f, 1.7f, 40.f, 6.1035156e-05f}) {
              for (const std::vector<float>* v : {&w, &tie}) {
                const float want = kernels::fineq_best_mode_error_reference(v->data(), n, delta, g, imp);
                const float got = kernels::fineq_best_mode_error(v->data(), n, delta, g, imp);
                EXPECT_EQ(bits(got), bits(want)) << "n " << n << " delta " << delta << (imp ? " weighted" : "")
                                                 << (v == &tie ? " ties" : "") << ": " << got << " vs " << want;
                ++compared;
              }
            }
          }
      }
    ++targets;
  }
  hwy::SetSupportedTargetsForTest(0);
  EXPECT_GE(targets, 1);
  EXPECT_GT(compared, 0);
}

// The kernel's sum is the search's objective: each cluster's best of its four modes. A cluster
// with one weight on the INT3 grid (1.5 = 3 steps of Δ/2 at Δ = 0.5) and two tiny ones is best
// pruned: only the tiny weights' squares remain (INT2 would clamp 1.5 to 0.75). Zero weights
// cost nothing.
TEST(FineqStep, EachClusterCostsItsBestMode) {
  const formats::FineqGrids g{formats::FineqParams{}};
  const float zeros[6] = {};
  EXPECT_EQ(kernels::fineq_best_mode_error(zeros, 6, 0.5f, g, nullptr), 0.f);
  const float outlier[3] = {0.001f, 1.5f, -0.001f};
  float best = INFINITY;
  for (int mode = -1; mode < 3; ++mode) {
    float e;
    formats::fineq_encode(outlier, 0.5f, mode, g, &e);
    best = std::min(best, e);
  }
  EXPECT_EQ(kernels::fineq_best_mode_error(outlier, 3, 0.5f, g, nullptr), best);
  EXPECT_LE(best, 2.1e-6f);
}

}  // namespace mixq
