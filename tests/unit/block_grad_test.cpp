// The decoder block's backward pass (quant/tune/block_grad.hpp) and learnable clipping's
// straight-through gradients (quant/tune/learnable_clip.hpp) against central finite differences,
// and the block's forward against the model's own forward_layer.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "mixq/core/error.hpp"
#include "mixq/formats/registry.hpp"
#include "mixq/model/linear.hpp"
#include "mixq/model/llama.hpp"
#include "mixq/quant/methods/method.hpp"
#include "mixq/quant/tune/block_grad.hpp"
#include "mixq/quant/tune/block_tuning.hpp"
#include "mixq/quant/tune/learnable_clip.hpp"
#include "mixq/quant/tune/learnable_step.hpp"

namespace mixq::quant {
namespace {

std::vector<float> random_vector(size_t n, std::mt19937_64& g, float sd, float mean = 0.f) {
  std::normal_distribution<float> d(mean, sd);
  std::vector<float> v(n);
  for (float& x : v) x = d(g);
  return v;
}

// A tiny block of every family feature the backward must follow.
struct Variant {
  const char* name;
  bool qkv_bias, qk_norm;
  int sliding_window;
};
const Variant kVariants[] = {{"llama", false, false, 0}, {"mistral-window", false, false, 3}, {"qwen2-bias", true, false, 0},
                             {"qwen3-qk-norm", false, true, 0}};

io::LlamaConfig tiny_config(const Variant& v) {
  io::LlamaConfig c;
  c.dim = 16, c.hidden_dim = 24, c.n_layers = 1, c.n_heads = 4, c.n_kv_heads = 2, c.vocab_size = 8, c.seq_len = 16;
  c.head_dim = 6;  // q_dim 24 ≠ dim: the wide-head case (Qwen3)
  c.qkv_bias = v.qkv_bias, c.qk_norm = v.qk_norm, c.sliding_window = v.sliding_window;
  return c;
}

struct TinyBlock {
  io::LlamaConfig c;
  model::LayerWeights vectors;
  std::array<std::vector<float>, kBlockLinears> w;
  BlockWeights weights() const {
    BlockWeights b{&vectors, {}};
    for (size_t i = 0; i < kBlockLinears; ++i) b.linear[i] = w[i].data();
    return b;
  }
};

TinyBlock tiny_block(const Variant& v, uint64_t seed) {
  std::mt19937_64 g(seed);
  TinyBlock b{tiny_config(v), {}, {}};
  const size_t dim = size_t(b.c.dim), hs = size_t(b.c.head_size());
  b.vectors.attn_norm = random_vector(dim, g, 0.2f, 1.f);
  b.vectors.ffn_norm = random_vector(dim, g, 0.2f, 1.f);
  if (v.qkv_bias) {
    b.vectors.bq = random_vector(size_t(b.c.q_dim()), g, 0.3f);
    b.vectors.bk = random_vector(size_t(b.c.kv_dim()), g, 0.3f);
    b.vectors.bv = random_vector(size_t(b.c.kv_dim()), g, 0.3f);
  }
  if (v.qk_norm) b.vectors.q_norm = random_vector(hs, g, 0.2f, 1.f), b.vectors.k_norm = random_vector(hs, g, 0.2f, 1.f);
  for (size_t i = 0; i < kBlockLinears; ++i) {
    const auto [rows, cols] = block_linear_shape(b.c, i);
    b.w[i] = random_vector(rows * cols, g, 1.f / std::sqrt(float(cols)));
  }
  return b;
}

constexpr size_t kTokens = 7;

// L = Σ c ⊙ block(x), in double.
double probe_loss(BlockGrad& block, const TinyBlock& b, const std::vector<float>& x, const std::vector<float>& c,
                  ThreadPool& pool) {
  std::vector<float> y(x.size());
  block.forward(b.weights(), x.data(), y.data(), pool);
  double l = 0;
  for (size_t i = 0; i < y.size(); ++i) l += double(c[i]) * y[i];
  return l;
}

void expect_close(double analytic, double numeric, const std::string& what) {
  EXPECT_NEAR(analytic, numeric, 2e-3 + 2e-2 * std::fabs(numeric)) << what;
}

}  // namespace

TEST(BlockGrad, ForwardIsTheModelsForwardLayer) {
  for (const Variant& v : kVariants) {
    TinyBlock b = tiny_block(v, 7);
    model::LlamaWeights lw;
    model::LayerWeights layer;
    for (const model::VectorSlot& slot : model::vector_slots(b.c)) layer.*slot.member = b.vectors.*slot.member;
    for (size_t i = 0; i < kBlockLinears; ++i) {
      const auto [rows, cols] = block_linear_shape(b.c, i);
      layer.*model::linear_slots()[i].member = std::make_unique<model::DenseLinear>(Tensor{{int64_t(rows), int64_t(cols)}, b.w[i]});
    }
    lw.layers.push_back(std::move(layer));
    model::LlamaModel m(b.c, std::move(lw), 2);
    std::mt19937_64 g(3);
    const std::vector<float> x = random_vector(kTokens * size_t(b.c.dim), g, 1.f);
    std::vector<float> want = x, got(x.size());
    model::KvCache cache(b.c, int(kTokens), true);
    m.forward_layer(0, want.data(), kTokens, 0, cache);
    ThreadPool pool(2);
    BlockGrad block(b.c, kTokens);
    block.forward(b.weights(), x.data(), got.data(), pool);
    for (size_t i = 0; i < x.size(); ++i) ASSERT_NEAR(got[i], want[i], 2e-5f * (1.f + std::fabs(want[i]))) << v.name << " " << i;
  }
}

TEST(BlockGrad, GradientsMatchFiniteDifferences) {
  for (const Variant& v : kVariants) {
    TinyBlock b = tiny_block(v, 11);
    std::mt19937_64 g(5);
    std::vector<float> x = random_vector(kTokens * size_t(b.c.dim), g, 1.f);
    const std::vector<float> c = random_vector(x.size(), g, 1.f);
    ThreadPool pool(2);
    BlockGrad block(b.c, kTokens);
    std::vector<float> y(x.size()), dx(x.size());
    block.forward(b.weights(), x.data(), y.data(), pool);
    BlockLinearGrads grads = zero_block_grads(b.c);
    block.backward(b.weights(), c.data(), grads, dx.data(), pool);
    const float h = 1e-2f;
    auto central = [&](float& p) {
      const float keep = p;
      p = keep + h;
      const double up = probe_loss(block, b, x, c, pool);
      p = keep - h;
      const double down = probe_loss(block, b, x, c, pool);
      p = keep;
      return (up - down) / (2 * double(h));
    };
    std::uniform_int_distribution<size_t> pick(0, 1 << 30);
    for (size_t i = 0; i < kBlockLinears; ++i)
      for (int k = 0; k < 12; ++k) {
        const size_t at = pick(g) % b.w[i].size();
        expect_close(grads[i][at], central(b.w[i][at]), fmt::format("{} dW[{}][{}]", v.name, i, at));
      }
    for (int k = 0; k < 24; ++k) {
      const size_t at = pick(g) % x.size();
      expect_close(dx[at], central(x[at]), fmt::format("{} dx[{}]", v.name, at));
    }
  }
}

TEST(BlockGrad, SameBitsForAnyThreadCount) {
  TinyBlock b = tiny_block(kVariants[3], 13);
  std::mt19937_64 g(1);
  const std::vector<float> x = random_vector(kTokens * size_t(b.c.dim), g, 1.f), c = random_vector(x.size(), g, 1.f);
  std::vector<BlockLinearGrads> results;
  for (int threads : {1, 3}) {
    ThreadPool pool(threads);
    BlockGrad block(b.c, kTokens);
    std::vector<float> y(x.size());
    block.forward(b.weights(), x.data(), y.data(), pool);
    results.push_back(zero_block_grads(b.c));
    block.backward(b.weights(), c.data(), results.back(), nullptr, pool);
  }
  for (size_t i = 0; i < kBlockLinears; ++i) EXPECT_EQ(results[0][i], results[1][i]) << i;
}

TEST(LearnableClip, GradientsMatchFiniteDifferencesOfTheStraightThroughSurrogate) {
  std::mt19937_64 g(21);
  const int64_t rows = 3, cols = 40, group = 8;
  Tensor w{{rows, cols}, random_vector(size_t(rows * cols), g, 1.f)};
  w.data[5] = 9.f;  // an outlier: clipping it clamps others' codes
  const std::vector<int> widths = {1, 2, 3, 2, 4};
  LearnableClip clip(w, widths, group, 2.5f, 0.3f, /*fp16_scales=*/false);
  std::normal_distribution<float> d(0.f, 1.f);
  std::vector<float> dw(size_t(rows * cols));
  for (float& v : dw) v = d(g);
  std::vector<float> dp(clip.params().size());
  clip.backward(dw.data(), dp.data());
  std::vector<float> frozen(dw.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < cols; ++j) frozen[size_t(r * cols + j)] = clip.frozen_rounding(r, j);
  auto loss = [&] {
    double l = 0;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < cols; ++j) l += double(dw[size_t(r * cols + j)]) * clip.surrogate(r, j, frozen[size_t(r * cols + j)]);
    return l;
  };
  std::vector<float> w_hat(dw.size());
  clip.fake_quantize(w_hat.data());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < cols; ++j)
      ASSERT_NEAR(clip.surrogate(r, j, frozen[size_t(r * cols + j)]), w_hat[size_t(r * cols + j)], 1e-5f);
  const float h = 1e-3f;
  int nonzero = 0;
  for (size_t i = 0; i < dp.size(); ++i) {
    float& p = clip.params()[i];
    const float keep = p;
    p = keep + h;
    const double up = loss();
    p = keep - h;
    const double down = loss();
    p = keep;
    expect_close(dp[i], (up - down) / (2 * double(h)), fmt::format("param {}", i));
    nonzero += dp[i] != 0.f;
  }
  EXPECT_GT(nonzero, int(dp.size() / 2) - rows);  // β of 1-bit groups is unused; every other logit moves ŵ
}

TEST(LearnableClip, BakedSlimTensorStoresExactlyTheFakeQuantizedWeights) {
  std::mt19937_64 g(4);
  const int64_t rows = 5, cols = 70, group = 32;  // a short last group
  Tensor w{{rows, cols}, random_vector(size_t(rows * cols), g, 0.05f, 0.01f)};
  LearnableClip clip(w, {1, 2, 3}, group, 4.f, 0.f);
  for (float& p : clip.params()) p += std::normal_distribution<float>(0.f, 1.f)(g);
  std::vector<float> want(size_t(rows * cols)), got(want.size());
  clip.fake_quantize(want.data());
  formats::SlimParams sp;
  sp.bits = 2, sp.group = int(group);
  const formats::PackedTensor t = clip.bake_slim(sp);
  formats::format_ops(t.format).validate(t);
  formats::format_ops(t.format).dequantize_rows(t, 0, rows, got.data());
  EXPECT_EQ(got, want);
}

TEST(LearnableClip, BakedUniformTensorStoresExactlyTheFakeQuantizedWeights) {
  std::mt19937_64 g(9);
  const int64_t rows = 4, cols = 70, group = 32;  // a short last group
  Tensor w{{rows, cols}, random_vector(size_t(rows * cols), g, 0.05f, 0.01f)};
  for (int bits : {2, 3, 4, 8}) {
    LearnableClip clip(w, std::vector<int>(3, bits), group, 4.f, 0.f);
    for (float& p : clip.params()) p += std::normal_distribution<float>(0.f, 1.f)(g);
    std::vector<float> want(size_t(rows * cols)), got(want.size());
    clip.fake_quantize(want.data());
    const formats::PackedTensor t = clip.bake_uniform({bits, int(group), false});
    formats::format_ops(t.format).validate(t);
    formats::format_ops(t.format).dequantize_rows(t, 0, rows, got.data());
    EXPECT_EQ(got, want) << bits << " bits";
    // The same grids, as GPTQ's quantizer sees them, give the same values.
    const auto grids = clip.grids();
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < cols; ++j) {
        const formats::GridQuantizer& q = grids[size_t(r * 3 + j / group)];
        ASSERT_EQ(q.value(q.code(w.data[size_t(r * cols + j)])), want[size_t(r * cols + j)]);
      }
  }
  LearnableClip clip(w, std::vector<int>(3, 2), group, 4.f, 0.f);
  EXPECT_THROW(clip.bake_uniform({3, int(group), false}), Error);  // widths are not the format's
  EXPECT_THROW(clip.bake_uniform({2, 16, false}), Error);          // nor its groups
  EXPECT_THROW(clip.bake_uniform({2, int(group), true}), Error);   // a symmetric grid cannot hold it
  EXPECT_THROW(LearnableClip(w, {1, 2, 2}, group, 4.f, 0.f).grids(), Error);  // 1-bit groups have no grid
}

TEST(LearnableClip, SlimGptqBakeOnIdentityHessianIsTheRoundingBake) {
  // slim+'s +bake-gptq: GPTQ on the trained grids (binary ones too). With H = I no error is fed
  // back, so it stores exactly what rounding on the grids stores.
  std::mt19937_64 g(12);
  const int64_t rows = 4, cols = 96, group = 32;
  Tensor w{{rows, cols}, random_vector(size_t(rows * cols), g, 0.05f, 0.01f)};
  LearnableClip clip(w, {1, 3, 2}, group, 4.f, 0.f);
  for (float& p : clip.params()) p += std::normal_distribution<float>(0.f, 1.f)(g);
  MethodOptions o;
  o.method = "slim";
  SlimOptions so;
  so.format.bits = 2, so.format.group = int(group), so.sba = false, so.sqc = false;
  o.params = so;
  LayerCalibration calib;
  calib.hessian.assign(size_t(cols * cols), 0.0);
  for (int64_t j = 0; j < cols; ++j) calib.hessian[size_t(j * cols + j)] = 1.0;
  std::vector<uint8_t> codes;
  std::vector<float> scales, zeros;
  clip.quantized(codes, scales, zeros);
  const formats::PackedTensor baked = quantize_slim_on_grids(w, calib, o, clip.widths(), scales, zeros, so.format);
  const formats::PackedTensor rounded = clip.bake_slim(so.format);
  for (const auto& part : rounded.parts) EXPECT_EQ(baked.part(part.suffix).bytes, part.bytes) << part.suffix;
  EXPECT_THROW(quantize_slim_on_grids(w, calib, o, {1, 3}, scales, zeros, so.format), Error);
}

TEST(LearnableStep, GradientsMatchFiniteDifferencesOfTheStraightThroughSurrogate) {
  std::mt19937_64 g(31);
  const int64_t rows = 3, cols = 40;  // 40: a padded last cluster
  Tensor w{{rows, cols}, random_vector(size_t(rows * cols), g, 1.f)};
  w.data[7] = 6.f, w.data[50] = -5.f;  // outliers: clamped codes and pruned clusters
  for (const auto& [group, rule] : {std::pair{0, formats::FineqRule::BestMode}, std::pair{12, formats::FineqRule::Ratio}}) {
    formats::FineqParams p;
    p.group = group, p.rule = rule;
    std::vector<float> steps(size_t(rows * p.groups(cols)));
    for (float& s : steps) s = std::uniform_real_distribution<float>(0.3f, 0.7f)(g);
    LearnableStep q(w, p, steps, /*fp16_steps=*/false);
    for (float& v : q.params()) v = std::normal_distribution<float>(0.f, 0.5f)(g);
    std::vector<float> dw(size_t(rows * cols)), w_hat(dw.size());
    for (float& v : dw) v = std::normal_distribution<float>(0.f, 1.f)(g);
    std::vector<float> dp(q.params().size());
    q.backward(dw.data(), dp.data());
    const LearnableStep::Frozen f = q.freeze();
    std::vector<float> delta0(dw.size());
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < cols; ++j) delta0[size_t(r * cols + j)] = q.step_of(r, j);
    q.fake_quantize(w_hat.data());
    auto surrogate = [&](size_t k, float delta) -> double {
      if (!f.kept[k]) return 0.0;
      if (f.clamped[k]) return f.h[k] * delta / 2;
      return w.data[k] + (f.h[k] - 2 * w.data[k] / delta0[k]) * delta / 2;
    };
    auto loss = [&] {
      double l = 0;
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < cols; ++j) l += dw[size_t(r * cols + j)] * surrogate(size_t(r * cols + j), q.step_of(r, j));
      return l;
    };
    for (size_t k = 0; k < dw.size(); ++k) ASSERT_NEAR(surrogate(k, delta0[k]), w_hat[k], 1e-5f) << k;
    int nonzero = 0;
    for (size_t i = 0; i < dp.size(); ++i) {
      float& v = q.params()[i];
      const float keep = v, h = 1e-3f;
      v = keep + h;
      const double up = loss();
      v = keep - h;
      const double down = loss();
      v = keep;
      expect_close(dp[i], (up - down) / (2 * double(h)), fmt::format("group {} param {}", group, i));
      nonzero += dp[i] != 0.f;
    }
    EXPECT_EQ(nonzero, int(dp.size()));
    // The baked tensor stores exactly ŵ (at fp16 steps: a fresh quantizer with them).
    LearnableStep stored(w, p, steps);
    for (size_t i = 0; i < dp.size(); ++i) stored.params()[i] = q.params()[i];
    std::vector<float> want(dw.size()), got(dw.size());
    stored.fake_quantize(want.data());
    const formats::PackedTensor t = stored.bake();
    formats::format_ops(t.format).validate(t);
    formats::format_ops(t.format).dequantize_rows(t, 0, rows, got.data());
    EXPECT_EQ(got, want);
  }
}

TEST(BlockTuning, OptionsOutOfRangeAreClearErrors) {
  ClipTuning t;
  t.epochs = 0;
  EXPECT_THROW(t.validate(), Error);
  t = {}, t.lr = -1;
  EXPECT_THROW(t.validate(), Error);
  t = {}, t.batch = 0;
  EXPECT_THROW(t.validate(), Error);
  t = {}, t.windows = -2;
  EXPECT_THROW(t.validate(), Error);
  EXPECT_NO_THROW(ClipTuning::official().validate());
}

}  // namespace mixq::quant
