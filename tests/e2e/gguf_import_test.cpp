// GGUF import on the real models: what mixq exports reads back as the same model (weights to the
// bit, tokenizer ids, perplexity), a quantized export reads back as the quantized weights, a
// llama.cpp user's GGUF can be requantized with every method, and what a Llama GGUF cannot hold is
// a clear error. llama.cpp's own files (llama-quantize in every type) are checked against ggml's
// decoder and llama-perplexity by scripts/peer/gguf_vs_llamacpp.sh.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli_run.hpp"
#include "mixq/core/error.hpp"
#include "mixq/core/half.hpp"
#include "mixq/io/checkpoint.hpp"
#include "mixq/io/gguf.hpp"
#include "mixq/io/mapped_file.hpp"
#include "mixq/io/safetensors.hpp"
#include "mixq/quant/model_file.hpp"
#include "test_paths.hpp"

namespace mixq {
namespace {

const char* kValid = "data/tinystories/tinystories_valid_head.txt";

// `mixq eval --json`'s results and token count (the model's path aside).
nlohmann::json eval_results(const std::string& model) {
  const auto r = test::run_mixq("eval -m " + model + " --text " + test::shared_path(kValid) +
                                " --protocol llamacpp --max-windows 8 --json");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  auto j = nlohmann::json::parse(r.output, nullptr, false);
  return j.is_object() ? nlohmann::json{{"results", j["results"]}, {"stream_tokens", j["stream_tokens"]}} : nlohmann::json();
}

class GgufImport : public ::testing::TestWithParam<int> {};

}  // namespace

// F32 export → import: the same config, every tensor bit for bit, the same token ids on real text
// (llama2.c's tokenizer becomes a SentencePiece model rebuilt from the GGUF's scored vocabulary),
// so the same perplexity. F16: the weights rounded to F16, exactly.
TEST_P(GgufImport, ExportedModelReadsBackAsTheSameModel) {
  const std::string model = test::model_file(test::kRealModels[GetParam()]);
  MIXQ_REQUIRE_FILE(model);
  test::TempDir dir;
  const io::Checkpoint original = io::load_checkpoint(model);
  for (io::DType dtype : {io::DType::F32, io::DType::F16}) {
    const std::string gguf = dir / (std::string(io::dtype_name(dtype)) + ".gguf");
    io::save_gguf(original, gguf, dtype);
    const io::Checkpoint back = io::load_checkpoint(gguf);
    EXPECT_EQ(back.config.dim, original.config.dim);
    EXPECT_EQ(back.config.n_kv_heads, original.config.n_kv_heads);
    EXPECT_EQ(back.config.hidden_dim, original.config.hidden_dim);
    EXPECT_EQ(back.config.vocab_size, original.config.vocab_size);
    EXPECT_EQ(back.config.tied_classifier, original.config.tied_classifier);
    ASSERT_EQ(back.tensors.size(), original.tensors.size());
    for (const auto& [name, t] : original.tensors) {
      std::vector<float> want = t.data;
      const bool norm = t.shape.size() == 1;  // norms are always written F32
      if (dtype == io::DType::F16 && !norm)
        for (float& x : want) x = f16_to_f32(f32_to_f16(x));
      EXPECT_EQ(back.at(name).data, want) << name << " as " << io::dtype_name(dtype);
    }
    const std::string text = io::read_whole_file(test::shared_path(kValid)).substr(0, 20000);
    EXPECT_STREQ(back.tokenizer->kind(), "sentencepiece");
    EXPECT_EQ(back.tokenizer->encode(text, true), original.tokenizer->encode(text, true));
    EXPECT_EQ(back.tokenizer->bos_id(), original.tokenizer->bos_id());
    EXPECT_EQ(back.tokenizer->eos_id(), original.tokenizer->eos_id());
    const auto ids = original.tokenizer->encode(text.substr(0, 2000), true);
    EXPECT_EQ(back.tokenizer->decode_all(ids), original.tokenizer->decode_all(ids));
  }
  const auto results = eval_results(model);
  EXPECT_FALSE(results.is_null());
  EXPECT_EQ(eval_results(dir / "F32.gguf"), results);
}

INSTANTIATE_TEST_SUITE_P(RealModels, GgufImport, ::testing::Values(0, 1),
                         [](const auto& info) { return std::string(test::kRealModels[info.param].name); });

// A quantized file exported as Q8_0 / Q4_0 blocks reads back as exactly the weights mixq's file
// holds, and quantizing the imported GGUF (a llama.cpp user's starting point) gives the same
// tensors, byte for byte, as quantizing the original checkpoint (the tokenizer's entry aside).
TEST(GgufImportQuantized, Q8AndQ4BlocksReadBackAsTheQuantizedWeights) {
  const std::string model = test::model_file(test::kRealModels[1]);
  MIXQ_REQUIRE_FILE(model);
  test::TempDir dir;
  for (int bits : {8, 4}) {
    const std::string q = dir / ("q" + std::to_string(bits) + ".safetensors");
    auto r = test::run_mixq("quantize -q -m " + model + " --method rtn --bits " + std::to_string(bits) + " --group 32 --sym -o " + q);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    r = test::run_mixq("convert -m " + q + " --to gguf -o " + dir / "q.gguf");
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const io::Checkpoint dq = quant::dequantized_checkpoint(quant::load_quantized_model(q, 1), q);
    const io::StoredCheckpoint back = io::open_checkpoint(dir / "q.gguf");
    EXPECT_STREQ(back.at(io::names::w2(0)).type_name(), bits == 8 ? "Q8_0" : "Q4_0");
    for (const auto& [name, t] : dq.tensors) EXPECT_EQ(back.at(name).to_f32().data, t.data) << name << " at " << bits << " bits";
  }
}

TEST(GgufImportQuantized, QuantizingTheImportedGgufGivesTheSameLinears) {
  const std::string model = test::repo_model_path("stories260K/stories260K.bin");
  MIXQ_REQUIRE_FILE(model);
  test::TempDir dir;
  ASSERT_EQ(test::run_mixq("convert -m " + model + " --to gguf --dtype F32 -o " + dir / "m.gguf").exit_code, 0);
  for (const std::string method : {"gptq --bits 2 --group 32", "slim --bits 2 --group 32", "fineq-gptq"}) {
    const std::string calib = " --calib " + test::shared_path(kValid) + " --calib-samples 4 --calib-len 64 -q";
    auto a = test::run_mixq("quantize -m " + model + " --method " + method + calib + " -o " + dir / "a.safetensors");
    auto b = test::run_mixq("quantize -m " + dir / "m.gguf" + " --method " + method + calib + " -o " + dir / "b.safetensors");
    ASSERT_EQ(a.exit_code, 0) << a.output;
    ASSERT_EQ(b.exit_code, 0) << b.output;
    const io::SafetensorsFile fa(dir / "a.safetensors"), fb(dir / "b.safetensors");
    ASSERT_EQ(fa.entries().size(), fb.entries().size());
    for (const auto& e : fa.entries()) {
      if (e.name == "mixq.tokenizer") continue;  // llama2.c's file there, the rebuilt SentencePiece model here
      const auto& o = fb.at(e.name);
      EXPECT_TRUE(e.bytes.size() == o.bytes.size() && std::equal(e.bytes.begin(), e.bytes.end(), o.bytes.begin()))
          << method << ": " << e.name;
    }
  }
}

// What a GGUF holds that mixq cannot read is named: the architecture, tensors outside a Llama
// model, RoPE divisors (rope_freqs.weight) that are zero, a tokenizer it does not rebuild (then
// --tokenizer works).
TEST(GgufImportRefuses, WhatMixqCannotReadIsNamed) {
  const std::string model = test::repo_model_path("stories260K/stories260K.bin");
  MIXQ_REQUIRE_FILE(model);
  test::TempDir dir;
  const io::Checkpoint ck = io::load_checkpoint(model);
  // A copy of the exported file with one key or tensor changed: the writer's output re-made.
  auto variant = [&](const std::string& name, const std::string& arch, const std::string& tok_model, bool extra_tensor) {
    io::GgufWriter w;
    w.add_string("general.architecture", arch);
    for (const char* k : {"embedding_length", "feed_forward_length", "block_count", "attention.head_count",
                          "attention.head_count_kv", "context_length"}) {
      const std::string key = std::string(k);
      const auto& c = ck.config;
      const int v = key == "embedding_length" ? c.dim : key == "feed_forward_length" ? c.hidden_dim
                    : key == "block_count" ? c.n_layers : key == "attention.head_count" ? c.n_heads
                    : key == "attention.head_count_kv" ? c.n_kv_heads : c.seq_len;
      w.add_u32(arch + "." + key, uint32_t(v));
    }
    w.add_string("tokenizer.ggml.model", tok_model);
    w.add_strings("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>"});
    const std::string path = dir / name;
    io::save_gguf(ck, dir / "base.gguf", io::DType::F32);
    const io::GgufFile base(dir / "base.gguf");
    for (const auto& t : base.tensors())
      w.add_tensor(t.name, t.shape, t.type, t.bytes.size(), [&t](std::string& out) { out.append(reinterpret_cast<const char*>(t.bytes.data()), t.bytes.size()); });
    if (extra_tensor)
      w.add_tensor("rope_freqs.weight", {4}, io::GgmlType::F32, 16, [](std::string& out) { out.append(16, '\0'); });
    w.write(path);
    return path;
  };
  test::expect_clean_error(test::run_mixq("eval -m " + variant("q.gguf", "gemma2", "llama", false) + " --text " MIXQ_SOURCE_DIR "/README.md"),
                           "architecture 'gemma2' is not read by mixq yet (it reads llama, qwen2, qwen3)");
  test::expect_clean_error(test::run_mixq("eval -m " + variant("r.gguf", "llama", "llama", true) + " --text " MIXQ_SOURCE_DIR "/README.md"),
                           "frequency factor 0 is 0");
  const std::string bert = variant("b.gguf", "llama", "bert", false);
  test::expect_clean_error(test::run_mixq("eval -m " + bert + " --text " MIXQ_SOURCE_DIR "/README.md"), "tokenizer 'bert'");
  // The tokenizer given beside it is used instead.
  const auto r = test::run_mixq("eval -m " + bert + " --tokenizer " + test::repo_model_path("stories260K/tok512.bin") +
                                " --text " MIXQ_SOURCE_DIR "/README.md --max-windows 1");
  EXPECT_EQ(r.exit_code, 0) << r.output;
}

}  // namespace mixq

namespace mixq {

// `mixq inspect` on a GGUF: the model in mixq's terms and bits counted from the bytes (Q4_0 is 18
// bytes per 32 weights: 4.5 bits), in text and JSON; --verify, which checks mixq's checksums, is
// refused by name.
TEST(GgufInspect, DescribesTheModelAndCountsBitsFromBytes) {
  const std::string model = test::model_file(test::kRealModels[1]);
  MIXQ_REQUIRE_FILE(model);
  test::TempDir dir;
  auto r = test::run_mixq("quantize -q -m " + model + " --method rtn --bits 4 --group 32 --sym -o " + dir / "q.safetensors");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = test::run_mixq("convert -m " + dir / "q.safetensors" + " --to gguf -o " + dir / "q.gguf");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = test::run_mixq("inspect --json " + dir / "q.gguf");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  const io::Checkpoint ck = io::load_checkpoint(model);
  EXPECT_EQ(j["architecture"], "llama");
  EXPECT_EQ(j["config"]["hidden_size"], ck.config.dim);
  EXPECT_EQ(j["config"]["num_hidden_layers"], ck.config.n_layers);
  EXPECT_EQ(j["decoder_linear_types"], nlohmann::json({{"Q4_0", 7 * ck.config.n_layers}}));
  EXPECT_DOUBLE_EQ(j["size"]["decoder_linear_bits_per_weight"].get<double>(), 4.5);
  EXPECT_EQ(j["size"]["bytes"], std::filesystem::file_size(dir / "q.gguf"));
  EXPECT_EQ(j["tokenizer"]["model"], "llama");
  size_t bytes = 0;
  for (const auto& t : j["tensors"]) bytes += t["bytes"].get<size_t>();
  EXPECT_LT(bytes, j["size"]["bytes"].get<size_t>());  // plus the header and the vocabulary
  r = test::run_mixq("inspect " + dir / "q.gguf");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("architecture llama"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("4.5000 (" + std::to_string(7 * ck.config.n_layers) + "×Q4_0)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("blk.0.attn_q.weight"), std::string::npos) << r.output;
  test::expect_clean_error(test::run_mixq("inspect --verify " + dir / "q.gguf"), "a GGUF has none");
}

}  // namespace mixq
