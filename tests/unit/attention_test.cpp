// The SIMD attention kernel against its scalar reference (kernels/attention.hpp): the same bits
// on every Highway target this CPU runs, for head widths odd and even, grouped-query strides,
// sliding windows, query batches that fill no whole vector, and positions deep into the cache.
#include <gtest/gtest.h>
#include <hwy/targets.h>

#include <cstring>
#include <random>
#include <vector>

#include "mixq/kernels/attention.hpp"

namespace mixq::kernels {
namespace {

// One head reading q (rows q_stride apart), k and v (kv_stride apart), writing out (out_stride apart).
HeadAttention head_of(const float* q, size_t q_stride, const float* k, const float* v, size_t kv_stride, float* out,
                      size_t out_stride, int head_size) {
  HeadAttention a;
  a.q = q;
  a.q_stride = q_stride;
  a.k = k;
  a.v = v;
  a.kv_stride = kv_stride;
  a.out = out;
  a.out_stride = out_stride;
  a.head_size = head_size;
  return a;
}

struct Case {
  int head_size, n_queries, pos, window, kv_stride_extra;
};

// Random q/k/v with a wide range of scores (some softmaxes nearly one-hot), run by both.
void expect_same_bits(const Case& c, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.f, 1.f);
  const int positions = c.pos + c.n_queries;
  const size_t kv_stride = size_t(c.head_size + c.kv_stride_extra), q_stride = size_t(c.head_size) * 3;
  std::vector<float> q(size_t(c.n_queries) * q_stride), k(size_t(positions) * kv_stride), v(k.size());
  for (float& x : q) x = 3.f * normal(rng);
  for (float& x : k) x = normal(rng);
  for (float& x : v) x = normal(rng);
  HeadAttention a = head_of(q.data(), q_stride, k.data(), v.data(), kv_stride, nullptr, size_t(c.head_size) + 5, c.head_size);
  a.pos = c.pos;
  a.window = c.window;
  a.scale = 0.37f;
  std::vector<float> want(size_t(c.n_queries) * a.out_stride, -1.f), got(want.size(), -1.f);
  a.out = want.data();
  attend_reference(a, 0, c.n_queries);
  a.out = got.data();
  // Two calls that split the queries off a vector boundary: the split must not matter either.
  const int split = c.n_queries / 3;
  attend(a, 0, split);
  attend(a, split, c.n_queries);
  for (size_t i = 0; i < want.size(); ++i)
    ASSERT_EQ(std::memcmp(&want[i], &got[i], sizeof(float)), 0)
        << "element " << i << ": " << want[i] << " vs " << got[i] << " (head " << c.head_size << ", queries "
        << c.n_queries << ", pos " << c.pos << ", window " << c.window << ")";
}

TEST(Attention, EverySimdTargetGivesTheReferencesBits) {
  const std::vector<Case> cases = {
      {8, 37, 0, 0, 24},     // stories260K's heads, a prompt from position 0, GQA stride
      {48, 21, 0, 0, 0},     // tinystories5M's heads
      {64, 19, 100, 0, 64},  // a prompt continuing a cached context
      {7, 33, 5, 0, 1},      // an odd width: the last product joins the even sum
      {128, 17, 40, 16, 0},  // a sliding window shorter than the batch
      {16, 1, 77, 0, 0},     // one query (decoding)
      {32, 50, 3, 64, 32},   // a window longer than the context
  };
  int targets = 0;
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(target);
    SCOPED_TRACE(hwy::TargetName(target));
    uint32_t seed = 1;
    for (const Case& c : cases) expect_same_bits(c, seed++);
    ++targets;
  }
  hwy::SetSupportedTargetsForTest(0);
  EXPECT_GE(targets, 1);
}

// Each query sees itself: with one position visible (window 1) the output is that value exactly.
TEST(Attention, AWindowOfOneReturnsEachQuerysOwnValue) {
  const int hs = 8, n = 20;
  std::vector<float> q(size_t(n * hs), 0.5f), k(q.size()), v(q.size()), out(q.size());
  for (size_t i = 0; i < v.size(); ++i) {
    k[i] = float(i % 7) - 3.f;
    v[i] = float(i) * 0.25f;
  }
  HeadAttention a = head_of(q.data(), hs, k.data(), v.data(), hs, out.data(), hs, hs);
  a.window = 1;
  attend(a, 0, n);
  EXPECT_EQ(out, v);
}

// A layer's heads on a pool: every query head reads its KV head (GQA), each head equals the
// reference run alone, and the thread count changes no bit.
TEST(Attention, LayerOnAnyThreadCountIsEachHeadsReference) {
  const int hs = 16, heads = 6, kv_heads = 2, pos = 9, n = 45, positions = pos + n;
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::vector<float> q(size_t(n * heads * hs)), k(size_t(positions * kv_heads * hs)), v(k.size());
  for (auto* x : {&q, &k, &v})
    for (float& e : *x) e = normal(rng);
  std::vector<float> want(q.size());
  for (int h = 0; h < heads; ++h) {
    const size_t kv = size_t((h / (heads / kv_heads)) * hs);
    HeadAttention a = head_of(q.data() + h * hs, size_t(heads * hs), k.data() + kv, v.data() + kv, size_t(kv_heads * hs),
                              want.data() + h * hs, size_t(heads * hs), hs);
    a.pos = pos;
    a.scale = 0.25f;
    attend_reference(a, 0, n);
  }
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    std::vector<float> got(q.size(), -1.f);
    LayerAttention l;
    l.q = q.data();
    l.k = k.data();
    l.v = v.data();
    l.out = got.data();
    l.n_heads = heads;
    l.n_kv_heads = kv_heads;
    l.head_size = hs;
    l.pos = pos;
    attend_layer(l, size_t(n), pool);
    EXPECT_EQ(std::memcmp(got.data(), want.data(), want.size() * sizeof(float)), 0) << threads << " threads";
  }
}

}  // namespace
}  // namespace mixq::kernels
