// llama.cpp itself in CI: node-llama-cpp's prebuilt libllama (scripts/llamacpp_prebuilt.sh, the
// release scripts/peer/llamacpp.sh builds) loads mixq's GGUF exports, tokenizes a real text and
// returns its logits at every position (tests/reference/llamacpp_logits.mjs). Its ids must be
// mixq's, and its logits mixq's within what llama.cpp's F16 KV cache and Q8_0 activation rounding
// allow. The full comparison (perplexity over 100 chunks, greedy text, every ggml type, the import
// direction) needs a llama.cpp build and is scripts/peer/gguf_vs_llamacpp.sh's.
#include <gtest/gtest.h>

#include "cli_run.hpp"
#include "llamacpp_run.hpp"
#include "mixq/io/gguf.hpp"
#include "mixq/io/mapped_file.hpp"
#include "mixq/quant/model_file.hpp"
#include "test_paths.hpp"

namespace mixq {
namespace {

using test::agreement, test::Agreement, test::llamacpp_logits, test::LlamaCppRun, test::prebuilt_dir;

std::string text_head(const test::TempDir& tmp) {
  const std::string path = tmp / "text.txt";
  std::ofstream(path) << io::read_whole_file(test::shared_path("data/tinystories/tinystories_valid_head.txt")).substr(0, 2000);
  return path;
}

}  // namespace

TEST(LlamaCppSmoke, ExportedModelsGiveMixqsTokensAndLogitsInLlamaCpp) {
  ASSERT_FALSE(prebuilt_dir().empty()) << "scripts/llamacpp_prebuilt.sh failed (npm needed)";
  for (const auto& m : test::kRealModels) {
    MIXQ_REQUIRE_FILE(test::model_file(m));
    SCOPED_TRACE(m.name);
    test::TempDir tmp;
    io::Checkpoint ck = io::load_checkpoint(test::model_file(m));
    io::save_gguf(ck, tmp / "m.gguf", io::DType::F32);
    const std::string text = text_head(tmp);
    const LlamaCppRun ref = llamacpp_logits(tmp / "m.gguf", text, 64, tmp);
    auto ids = ck.tokenizer->encode(io::read_whole_file(text), false);
    ids.resize(std::min<size_t>(ids.size(), 64));
    EXPECT_EQ(ref.ids, ids);
    EXPECT_EQ(ref.bos, ck.tokenizer->bos_id());
    model::LlamaModel model = model::LlamaModel::from_checkpoint(ck, 1);
    const Agreement a = agreement(model, ref);
    EXPECT_LE(a.max_abs_diff, 0.02f);  // measured 0.018 and 0.003; llama.cpp keeps K and V in F16
    EXPECT_EQ(a.top1, 1.0);
  }
}

// RoPE scaling in llama.cpp's terms: Llama-3's rule as rope_freqs.weight divisors (here with an
// original context of 64, so that 3 of stories260K's 4 rotation pairs are slowed within 64
// tokens) and linear scaling as keys. llama.cpp computes what mixq computes, and not what the
// unscaled model computes.
TEST(LlamaCppSmoke, RopeScalingComputesInLlamaCppAsInMixq) {
  ASSERT_FALSE(prebuilt_dir().empty()) << "scripts/llamacpp_prebuilt.sh failed (npm needed)";
  const std::string model_path = test::repo_model_path("stories260K/stories260K.bin");
  MIXQ_REQUIRE_FILE(model_path);
  using T = io::RopeScaling::Type;
  for (const io::RopeScaling& scaling : {io::RopeScaling{T::Llama3, 4.f, 1.f, 4.f, 64, {}}, io::RopeScaling{T::Linear, 2.f, 1.f, 4.f, 8192, {}}}) {
    SCOPED_TRACE(int(scaling.type));
    test::TempDir tmp;
    io::Checkpoint ck = io::load_checkpoint(model_path);
    ck.config.rope_scaling = scaling;
    io::save_gguf(ck, tmp / "m.gguf", io::DType::F32);
    const LlamaCppRun ref = llamacpp_logits(tmp / "m.gguf", text_head(tmp), 64, tmp);
    model::LlamaModel scaled = model::LlamaModel::from_checkpoint(ck, 1);
    const Agreement a = agreement(scaled, ref);
    EXPECT_LE(a.max_abs_diff, 0.05f);  // measured 0.040 (llama3 rule) and 0.034 (linear): F16 K and V
    EXPECT_EQ(a.top1, 1.0);
    io::Checkpoint plain_ck = io::load_checkpoint(model_path);
    model::LlamaModel plain = model::LlamaModel::from_checkpoint(plain_ck, 1);
    EXPECT_GT(agreement(plain, ref).max_abs_diff, 1.f);  // measured 11 and 16
  }
}

// A quantized linear exported as Q4_0 blocks: llama.cpp computes with the very weights mixq's file
// holds (activations rounded to Q8_0 on its side).
TEST(LlamaCppSmoke, Q4BlocksComputeInLlamaCppAsInMixq) {
  ASSERT_FALSE(prebuilt_dir().empty()) << "scripts/llamacpp_prebuilt.sh failed (npm needed)";
  const std::string model_path = test::model_file(test::kRealModels[1]);
  MIXQ_REQUIRE_FILE(model_path);
  test::TempDir tmp;
  const std::string q = tmp / "q4.safetensors";
  auto r = test::run_mixq("quantize -q -m " + model_path + " --method rtn --bits 4 --group 32 --sym -o " + q);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = test::run_mixq("convert -m " + q + " --to gguf -o " + tmp / "q4.gguf");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const LlamaCppRun ref = llamacpp_logits(tmp / "q4.gguf", text_head(tmp), 64, tmp);
  quant::QuantizedModel qm = quant::load_quantized_model(q, 1);
  const Agreement a = agreement(*qm.model, ref);
  EXPECT_LE(a.max_abs_diff, 0.25f);  // measured 0.10: Q8_0-rounded activations on llama.cpp's side
  EXPECT_GE(a.top1, 0.95);
}

}  // namespace mixq
