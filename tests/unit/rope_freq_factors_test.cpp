// RoPE scaling as llama.cpp's per-pair divisors: Llama-3's rule gives llama.cpp converter's
// factors, the released Llama-3.x parameters are recovered from them, other divisors stay divisors
// and rotate as llama.cpp rotates, and impossible ones are named.
#include <gtest/gtest.h>

#include <cmath>

#include "mixq/core/error.hpp"
#include "mixq/io/hf_config.hpp"
#include "mixq/io/rope_freq_factors.hpp"

namespace mixq {
namespace {

io::LlamaConfig llama31_8b() {
  io::LlamaConfig c;
  c.dim = 4096, c.hidden_dim = 14336, c.n_layers = 1, c.n_heads = 32, c.n_kv_heads = 8, c.vocab_size = 128256;
  c.seq_len = 131072, c.rope_theta = 500000.f;
  return c;
}

}  // namespace

// Llama-3.1-8B's and Llama-3.2's scaling: the converter's factors (1 for short wavelengths, the
// factor for long ones, the blend between) read back as the same rope_scaling, and the divisors
// rotate by the rule's own frequencies within float rounding.
TEST(RopeFreqFactors, ReleasedLlama3ScalingsRoundTripThroughTheirFactors) {
  for (float factor : {8.f, 32.f}) {
    io::LlamaConfig c = llama31_8b();
    const auto plain = io::rope_inv_freq(c);
    c.rope_scaling = {io::RopeScaling::Type::Llama3, factor, 1.f, 4.f, 8192, {}};
    const auto f = io::rope_freq_factors(c);
    ASSERT_EQ(f.size(), 64u);
    EXPECT_EQ(f.front(), 1.f);
    EXPECT_EQ(f.back(), factor);
    size_t blended = 0;
    for (size_t j = 0; j < f.size(); ++j) {
      EXPECT_TRUE(f[j] >= 1.f && f[j] <= factor) << j;
      if (j > 0) {
        EXPECT_GE(f[j], f[j - 1]) << j;  // longer wavelengths are slowed more
      }
      blended += f[j] > 1.f && f[j] < factor;
    }
    EXPECT_GT(blended, 0u);
    io::LlamaConfig plain_c = llama31_8b();
    const io::RopeScaling back = io::rope_scaling_of_freq_factors(f, plain_c);
    EXPECT_EQ(back.type, io::RopeScaling::Type::Llama3);
    EXPECT_EQ(back.factor, factor);
    EXPECT_EQ(back.low_freq_factor, 1.f);
    EXPECT_EQ(back.high_freq_factor, 4.f);
    EXPECT_EQ(back.original_context, 8192);
    io::LlamaConfig divided = llama31_8b();
    divided.rope_scaling.type = io::RopeScaling::Type::FreqFactors;
    divided.rope_scaling.freq_factors = f;
    divided.validate("test");
    const auto by_rule = io::rope_inv_freq(c), by_factors = io::rope_inv_freq(divided);
    for (size_t j = 0; j < f.size(); ++j) {
      EXPECT_NEAR(by_factors[j], by_rule[j], 1e-6 * by_rule[j]) << j;
      EXPECT_EQ(by_factors[j], plain[j] / f[j]) << j;  // llama.cpp's θ / factor
    }
  }
}

// Divisors no released Llama-3 rule makes stay divisors; all ones are no scaling at all; mixq's
// own files keep them (config JSON), and impossible ones are named.
TEST(RopeFreqFactors, OtherDivisorsAreKeptAndImpossibleOnesNamed) {
  io::LlamaConfig c = llama31_8b();
  EXPECT_EQ(io::rope_scaling_of_freq_factors(std::vector<float>(64, 1.f), c).type, io::RopeScaling::Type::None);
  io::LlamaConfig other = c;
  other.rope_scaling = {io::RopeScaling::Type::Llama3, 4.f, 1.f, 4.f, 2048, {}};  // another original context
  const auto f = io::rope_freq_factors(other);
  const io::RopeScaling r = io::rope_scaling_of_freq_factors(f, c);
  EXPECT_EQ(r.type, io::RopeScaling::Type::FreqFactors);
  EXPECT_EQ(r.freq_factors, f);
  c.rope_scaling = r;
  const io::LlamaConfig back = io::parse_hf_config(io::hf_config_json(c, io::DType::F32), "config.json");
  EXPECT_EQ(back.rope_scaling.type, io::RopeScaling::Type::FreqFactors);
  EXPECT_EQ(back.rope_scaling.freq_factors, f);
  auto named = [&](std::vector<float> factors, const std::string& needle) {
    io::LlamaConfig bad = llama31_8b();
    bad.rope_scaling.type = io::RopeScaling::Type::FreqFactors;
    bad.rope_scaling.freq_factors = std::move(factors);
    try {
      bad.validate("m.gguf");
      ADD_FAILURE() << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  named(std::vector<float>(63, 1.f), "63 given, the head has 64 rotation pairs");
  auto zero = f;
  zero[5] = 0.f;
  named(zero, "factor 5 is 0");
  auto nan = f;
  nan[7] = NAN;
  named(nan, "factor 7 is nan");
}

}  // namespace mixq
