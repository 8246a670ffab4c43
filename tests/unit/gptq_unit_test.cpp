// GPTQ on small synthetic problems: the properties that do not need a real model.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "mixq/core/error.hpp"
#include "mixq/core/hash.hpp"
#include "mixq/quant/calib/calibration.hpp"
#include "mixq/quant/calib/hessian.hpp"
#include "mixq/formats/grid_quantizer.hpp"
#include "mixq/formats/uniform.hpp"
#include "mixq/quant/methods/method.hpp"

namespace mixq::quant {
namespace {

Tensor random_weight(int64_t rows, int64_t cols, uint64_t seed) {
  std::mt19937_64 g(seed);
  std::normal_distribution<float> d(0.f, 1.f);
  Tensor t{{rows, cols}, {}};
  for (int64_t i = 0; i < rows * cols; ++i) t.data.push_back(d(g));
  return t;
}

}  // namespace

TEST(Hessian, IsTwoOverNTimesSumOfOuterProducts) {
  HessianAccumulator acc(2);
  const float x[] = {1, 2, 3, 4};  // two tokens: (1,2) and (3,4)
  acc.add(x, 2);
  const auto h = acc.hessian();
  EXPECT_DOUBLE_EQ(h[0], 2.0 / 2 * (1 + 9));
  EXPECT_DOUBLE_EQ(h[1], 2.0 / 2 * (2 + 12));
  EXPECT_DOUBLE_EQ(h[2], h[1]);
  EXPECT_DOUBLE_EQ(h[3], 2.0 / 2 * (4 + 16));
}

TEST(Gptq, DeadInputsAreZeroedAndNotPositiveDefiniteIsReported) {
  const Tensor w = random_weight(4, 8, 1);
  std::vector<double> h(64, 0.0);
  for (int j = 0; j < 8; ++j) h[size_t(j * 8 + j)] = j == 3 ? 0.0 : 1.0 + j;  // input 3 never fires
  MethodOptions o;
  o.params = UniformOptions{{4, 0, false}};
  const auto t = quantize_gptq(w, h, o);
  std::vector<float> row(8);
  for (int r = 0; r < 4; ++r) {
    formats::UniformFormat::dequantize_rows(t, r, r + 1, row.data());
    EXPECT_EQ(row[3], 0.f);
  }
  std::vector<double> negative(64, 0.0);
  for (int j = 0; j < 8; ++j) negative[size_t(j * 8 + j)] = -1.0;
  try {
    quantize_gptq(w, negative, o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not positive definite"), std::string::npos) << e.what();
  }
}

TEST(Gptq, DampeningRetriesUntilTheHessianIsPositiveDefinite) {
  // diag(1, 1, 1, -0.5): mean diag 0.625, so the damp must exceed 0.8 before Cholesky succeeds;
  // from 0.01 that takes two ×10 retries.
  std::vector<double> h(16, 0.0);
  for (int j = 0; j < 3; ++j) h[size_t(j * 4 + j)] = 1.0;
  h[15] = -0.5;
  EXPECT_DOUBLE_EQ(damped_inverse_cholesky(h, 4, 0.01, "test"), 1.0);
  // A hopeless Hessian (negative mean diagonal: damping only makes it worse) is reported.
  std::vector<double> bad(16, 0.0);
  for (int j = 0; j < 3; ++j) bad[size_t(j * 4 + j)] = 1.0;
  bad[15] = -1000.0;
  EXPECT_THROW(damped_inverse_cholesky(bad, 4, 0.01, "test"), Error);
}

TEST(Gptq, WithIdentityHessianEqualsRtn) {
  // With H = I the error of one column says nothing about the others: GPTQ degenerates to RTN.
  const Tensor w = random_weight(8, 64, 2);
  std::vector<double> h(64 * 64, 0.0);
  for (int j = 0; j < 64; ++j) h[size_t(j * 64 + j)] = 1.0;
  MethodOptions o;
  o.params = UniformOptions{{3, 32, false}};
  o.damp = 0.0;
  const auto g = quantize_gptq(w, h, o);
  const auto r = method_info("rtn").quantize(w, {}, o);
  EXPECT_EQ(g.part("codes").bytes, r.part("codes").bytes);
  EXPECT_EQ(g.part("scales").bytes, r.part("scales").bytes);
}

TEST(Gptq, OnFixedGridsKeepsThemAndWithIdentityHessianRoundsOnThem) {
  // gptq+'s bake: the given grids are stored as they are; with H = I nothing is fed back, so every
  // code is the grid's nearest code of the weight itself.
  const Tensor w = random_weight(6, 64, 5);
  std::vector<double> h(64 * 64, 0.0), correlated(64 * 64, 0.0);
  std::mt19937_64 g(3);
  std::uniform_real_distribution<float> u(0.5f, 0.9f);
  for (int j = 0; j < 64; ++j) h[size_t(j * 64 + j)] = 1.0;
  for (int i = 0; i < 64; ++i)
    for (int j = 0; j < 64; ++j) correlated[size_t(i * 64 + j)] = (i == j ? 2.0 : 0.0) + 0.5 / (1.0 + std::abs(i - j));
  MethodOptions o;
  o.params = UniformOptions{{2, 32, false}};
  o.damp = 0.0;
  std::vector<formats::GridQuantizer> grids(6 * 2);
  for (size_t k = 0; k < grids.size(); ++k) {
    const auto fit = formats::GridQuantizer::fit(&w.data[(k / 2) * 64 + (k % 2) * 32], 32, 1, 2, false, u(g));
    grids[k] = fit;
  }
  for (const auto* H : {&h, &correlated}) {
    const auto q = quantize_gptq(w, *H, o, grids);
    std::vector<float> got(6 * 64);
    formats::UniformFormat::dequantize_rows(q, 0, 6, got.data());
    for (int64_t r = 0; r < 6; ++r)
      for (int64_t j = 0; j < 64; ++j) {
        const formats::GridQuantizer& gq = grids[size_t(r * 2 + j / 32)];
        const float v = got[size_t(r * 64 + j)];
        ASSERT_EQ(v, gq.value(gq.code(v))) << "a value off its fixed grid";
        if (H == &h) {
          ASSERT_EQ(v, gq.value(gq.code(w.data[size_t(r * 64 + j)])));
        }
      }
  }
  EXPECT_THROW(quantize_gptq(w, h, o, std::span(grids).first(5)), Error);
}

TEST(Gptq, NonFiniteWeightsAndBadOptionsAreReported) {
  Tensor w = random_weight(2, 4, 3);
  std::vector<double> h(16, 0.0);
  for (int j = 0; j < 4; ++j) h[size_t(j * 4 + j)] = 1.0;
  MethodOptions o;
  o.params = UniformOptions{{4, 0, false}};
  w.data[5] = NAN;
  EXPECT_THROW(quantize_gptq(w, h, o), Error);
  EXPECT_THROW(method_info("rtn").quantize(w, {}, o), Error);
  w.data[5] = 0.f;
  o.get<UniformOptions>().format.bits = 7;
  EXPECT_THROW(quantize_gptq(w, h, o), Error);
  EXPECT_THROW(method_info("awq"), Error);
}

TEST(Calibration, WindowsAreSeededAndShortTextIsReported) {
  std::vector<int> stream(1000);
  for (int i = 0; i < 1000; ++i) stream[size_t(i)] = i;
  const auto a = sample_windows(stream, 4, 100, 7), b = sample_windows(stream, 4, 100, 7);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, sample_windows(stream, 4, 100, 8));
  for (const auto& w : a) {
    ASSERT_EQ(w.size(), 100u);
    EXPECT_EQ(w.back() - w.front(), 99);  // contiguous
  }
  // The hash identifies the windows: any change of a token, of their order or of the seed changes it.
  auto changed = a;
  changed[2][50] += 1;
  EXPECT_NE(calibration_hash(changed), calibration_hash(a));
  std::swap(changed[0], changed[1]);
  changed[2][50] -= 1;
  EXPECT_NE(calibration_hash(changed), calibration_hash(a));
  EXPECT_NE(calibration_hash(sample_windows(stream, 4, 100, 8)), calibration_hash(a));
  // FNV-1a 64 over the ids as little-endian int32 (bytes 01 00 00 00 02 00 00 00), from the
  // standard offset basis; and the published test vector fnv1a64("a") = af63dc4c8601ec8c.
  EXPECT_EQ(calibration_hash({{1, 2}}), "fnv1a64:c9c28939c99668c6");
  const uint8_t a_byte = 'a';
  EXPECT_EQ(fnv1a64(&a_byte, 1), 0xaf63dc4c8601ec8cull);
  try {
    sample_windows(std::vector<int>(50, 1), 4, 100, 0);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("shorter than one window"), std::string::npos);
  }
}

}  // namespace mixq::quant
