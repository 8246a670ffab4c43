#include <gtest/gtest.h>

#include "mixq/eval/generate.hpp"
#include "mixq/eval/speed.hpp"
#include "mixq/io/checkpoint.hpp"
#include "test_paths.hpp"

namespace mixq::eval {

// shared/models/README.md: llama2.c's greedy sample of stories260K begins with this text.
TEST(Generate, GreedyStories260KMatchesLlama2cSample) {
  auto [tok, model] = test::load_model(test::repo_model_path("stories260K/stories260K.bin"), 2);
  GenerateOptions o;
  o.steps = 60;
  std::string streamed;
  const auto r = generate(*model, *tok, "", o, [&](const std::string& s) { streamed += s; });
  const std::string expected =
      "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she "
      "saw a big, red ball";
  EXPECT_EQ(r.text.substr(0, expected.size()), expected);
  EXPECT_EQ(streamed, r.text);
  EXPECT_EQ(r.prompt_tokens, 1u);
  EXPECT_EQ(r.generated_tokens, 60u);
}

TEST(Generate, SeededSamplingIsReproducibleAndContinuesThePrompt) {
  auto [tok, model] = test::load_model(test::repo_model_path("stories260K/stories260K.bin"), 1);
  GenerateOptions o;
  o.steps = 40;
  o.sampler = {1.0f, 0.9f, 133742};
  const auto a = generate(*model, *tok, "Once upon a time", o);
  const auto b = generate(*model, *tok, "Once upon a time", o);
  EXPECT_EQ(a.tokens, b.tokens);
  EXPECT_EQ(a.text.rfind("Once upon a time", 0), 0u);
  o.sampler.seed = 1;
  EXPECT_NE(generate(*model, *tok, "Once upon a time", o).tokens, a.tokens);
}

// A file may declare any context up to the config limit (16 M positions); the KV cache must follow
// the positions a run reaches, or stories260K's 5 layers would ask for 21 GB here.
TEST(Generate, DeclaredContextLengthDoesNotDecideMemory) {
  io::Checkpoint ck = io::load_checkpoint(test::repo_model_path("stories260K/stories260K.bin"));
  auto tok = std::move(ck.tokenizer);
  ck.config.seq_len = 1 << 24;
  auto model = model::LlamaModel::from_checkpoint(ck, 1);
  auto [tok_ref, reference] = test::load_model(test::repo_model_path("stories260K/stories260K.bin"), 1);
  GenerateOptions o;
  o.steps = 20;
  const auto r = generate(model, *tok, "Once", o);
  EXPECT_EQ(r.tokens, generate(*reference, *tok_ref, "Once", o).tokens);
  // The cache holds the positions used (BOS + prompt + steps), measured, not inferred from an
  // allocation that fails on a small machine: k and v, every layer, kv_dim floats per position.
  const auto& c = model.config();
  EXPECT_EQ(r.kv_cache_bytes, 2 * size_t(c.n_layers) * (r.prompt_tokens + 20) * size_t(c.kv_dim()) * sizeof(float));
  const auto speed = measure_speed(model, 8, 8, 1);
  EXPECT_GT(speed.decode_tokens_per_second, 0);
}

}  // namespace mixq::eval
