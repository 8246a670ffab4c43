// RoPE scaling through GGUF on a real model: Llama-3's rule goes out as llama.cpp's
// rope_freqs.weight and linear scaling as its keys; both read back as the scaling they came from
// (divisors no released Llama-3 rule makes, as divisors), the model computes what it computed, a
// quantized file keeps them and an HF export that cannot say them refuses by name. llama.cpp's own
// reading of these files is LlamaCppSmoke.RopeScalingComputesInLlamaCppAsInMixq.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>

#include "cli_run.hpp"
#include "mixq/io/checkpoint.hpp"
#include "mixq/io/gguf.hpp"
#include "mixq/io/rope_freq_factors.hpp"
#include "mixq/model/llama.hpp"
#include "mixq/quant/model_file.hpp"
#include "test_paths.hpp"

namespace mixq {
namespace {

// The model's logits on a short text (its tensors are moved into the model).
std::vector<float> logits_of(io::Checkpoint ck) {
  model::LlamaModel m = model::LlamaModel::from_checkpoint(ck, 1);
  return test::logits_of(m, ck.tokenizer->encode("Once upon a time, there was a little dog named Max. He liked to run.", true));
}

using test::max_abs_diff;

std::vector<float> rope_freqs_in(const std::string& gguf) {
  const io::GgufFile f(gguf);
  for (const auto& t : f.tensors())
    if (t.name == io::kRopeFreqsTensor) {
      EXPECT_EQ(t.type, io::GgmlType::F32);
      std::vector<float> v(t.bytes.size() / 4);
      std::memcpy(v.data(), t.bytes.data(), t.bytes.size());
      return v;
    }
  return {};
}

}  // namespace

TEST(GgufRopeScaling, EachScalingReadsBackAsItselfAndComputesTheSame) {
  const std::string model = test::repo_model_path("stories260K/stories260K.bin");
  MIXQ_REQUIRE_FILE(model);
  test::TempDir dir;
  using T = io::RopeScaling::Type;
  // stories260K's head has 4 rotation pairs with wavelengths 6, 63, 628 and 6283 positions: the
  // released rule (original context 8192) slows the last, one with an original context of 64 the
  // last three.
  const io::RopeScaling released{T::Llama3, 8.f, 1.f, 4.f, 8192, {}}, short_context{T::Llama3, 4.f, 1.f, 4.f, 64, {}},
      linear{T::Linear, 2.f, 1.f, 4.f, 8192, {}};
  auto scaled = [&](const io::RopeScaling& scaling) {
    io::Checkpoint ck = io::load_checkpoint(model);
    ck.config.rope_scaling = scaling;
    return ck;
  };
  for (const auto& [name, scaling] : {std::pair{"released", released}, {"short", short_context}, {"linear", linear}}) {
    SCOPED_TRACE(name);
    const std::string gguf = dir / (std::string(name) + ".gguf");
    io::save_gguf(scaled(scaling), gguf, io::DType::F32);
    EXPECT_EQ(rope_freqs_in(gguf), io::rope_freq_factors(scaled(scaling).config));
    const io::RopeScaling r = io::load_checkpoint(gguf).config.rope_scaling;
    const auto back = logits_of(io::load_checkpoint(gguf)), original = logits_of(scaled(scaling));
    if (scaling.type == T::Llama3 && scaling.original_context == 8192) {
      EXPECT_EQ(r.type, T::Llama3);
      EXPECT_EQ(r.factor, scaling.factor);
      EXPECT_EQ(r.original_context, 8192);
      EXPECT_EQ(back, original);  // the very same rule
    } else if (scaling.type == T::Llama3) {
      EXPECT_EQ(r.type, T::FreqFactors);
      EXPECT_EQ(r.freq_factors, io::rope_freq_factors(scaled(scaling).config));
      EXPECT_LT(max_abs_diff(back, original), 1e-4f);  // θ / factor rounds as llama.cpp's
      EXPECT_GT(max_abs_diff(back, logits_of(io::load_checkpoint(model))), 1e-2f);  // and it matters
    } else {
      EXPECT_EQ(r.type, T::Linear);
      EXPECT_EQ(r.factor, 2.f);
      EXPECT_EQ(back, original);
    }
  }
  // The divisors survive quantization (the file's config) and a second export; config.json cannot
  // hold them, so an HF export says so and writes nothing.
  const std::string q = dir / "q.safetensors";
  auto run = test::run_mixq("quantize -q -m " + dir / "short.gguf" + " --method rtn --bits 4 -o " + q);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const quant::QuantizedModel qm = quant::load_quantized_model(q, 1);
  EXPECT_EQ(qm.model->config().rope_scaling.type, T::FreqFactors);
  EXPECT_EQ(qm.model->config().rope_scaling.freq_factors, rope_freqs_in(dir / "short.gguf"));
  run = test::run_mixq("convert -m " + q + " --to gguf --dequantize -o " + dir / "again.gguf");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_EQ(rope_freqs_in(dir / "again.gguf"), rope_freqs_in(dir / "short.gguf"));
  test::expect_clean_error(test::run_mixq("convert -m " + q + " -o " + dir / "hf"), "rope_freqs.weight");
  EXPECT_FALSE(std::filesystem::exists(dir / "hf"));
}

}  // namespace mixq
