#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

#include "mixq/core/error.hpp"
#include "mixq/io/checkpoint.hpp"
#include "mixq/io/hf_checkpoint.hpp"
#include "mixq/io/mapped_file.hpp"
#include "test_paths.hpp"

namespace mixq::io {
namespace {

std::string repo_260k() { return test::repo_model_path("stories260K/stories260K.bin"); }

// Writes a copy of stories260K with `edit` applied to its bytes.
std::string edited_copy(const test::TempDir& dir, const std::function<void(std::string&)>& edit) {
  std::string bytes = read_whole_file(repo_260k());
  edit(bytes);
  const std::string path = dir / "model.bin";
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

void expect_error(const std::function<void()>& f, const std::string& needle) {
  try {
    f();
    FAIL() << "no error, expected: " << needle;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(Llama2cCheckpoint, LoadsStories260KHeaderAndTensors) {
  const Checkpoint ck = load_checkpoint(repo_260k());
  EXPECT_EQ(ck.config.dim, 64);
  EXPECT_EQ(ck.config.hidden_dim, 172);
  EXPECT_EQ(ck.config.n_layers, 5);
  EXPECT_EQ(ck.config.n_heads, 8);
  EXPECT_EQ(ck.config.n_kv_heads, 4);
  EXPECT_EQ(ck.config.vocab_size, 512);
  EXPECT_EQ(ck.config.seq_len, 512);
  EXPECT_TRUE(ck.config.tied_classifier);
  EXPECT_EQ(ck.at(names::wk(4)).shape, (std::vector<int64_t>{32, 64}));
  EXPECT_EQ(ck.tokenizer->vocab_size(), 512);
  size_t params = 0;
  for (const auto& [name, t] : ck.tensors) params += t.data.size();
  EXPECT_EQ(params, 260032u);  // shared/models/README.md
}

TEST(Llama2cCheckpoint, TruncatedFileIsReported) {
  test::TempDir dir;
  const auto p = edited_copy(dir, [](std::string& b) { b.resize(b.size() - 4); });
  expect_error([&] { load_llama2c(p); }, "implies 1056540 bytes, file has 1056536 (truncated?)");
  const auto q = edited_copy(dir, [](std::string& b) { b.resize(10); });
  expect_error([&] { load_llama2c(q); }, "truncated llama2.c checkpoint");
}

TEST(Llama2cCheckpoint, HeaderThatDisagreesWithFileSizeIsReported) {
  test::TempDir dir;
  const auto p = edited_copy(dir, [](std::string& b) {
    const int32_t layers = 6;
    std::memcpy(&b[8], &layers, 4);
  });
  expect_error([&] { load_llama2c(p); }, "size mismatch");
}

TEST(Llama2cCheckpoint, ImpossibleHeaderIsReported) {
  test::TempDir dir;
  const auto p = edited_copy(dir, [](std::string& b) {
    const int32_t heads = 7;  // 64 is not a multiple of 7
    std::memcpy(&b[12], &heads, 4);
  });
  expect_error([&] { load_llama2c(p); }, "dim 64 is not a multiple of n_heads 7");
  const auto q = edited_copy(dir, [](std::string& b) {
    const int32_t dim = -64;
    std::memcpy(&b[0], &dim, 4);
  });
  expect_error([&] { load_llama2c(q); }, "dim must be positive");
}

TEST(Llama2cCheckpoint, NonFiniteWeightIsReported) {
  test::TempDir dir;
  const auto p = edited_copy(dir, [](std::string& b) {
    const float nan = std::nanf("");
    std::memcpy(&b[28 + 4 * 100], &nan, 4);  // inside the token embedding
  });
  expect_error([&] { load_llama2c(p); }, "tensor 'model.embed_tokens.weight' holds a non-finite value");
}

TEST(Llama2cCheckpoint, TokenizerVocabularyMismatchIsReported) {
  MIXQ_REQUIRE_FILE(test::shared_path("models/llama2-tokenizer-32k/tokenizer.bin"));
  expect_error([&] { load_checkpoint(repo_260k(), test::shared_path("models/llama2-tokenizer-32k/tokenizer.bin")); },
               "tokenizer has 32000 tokens but the model's vocabulary is 512");
}

TEST(Checkpoint, MissingPathIsReported) {
  expect_error([] { load_checkpoint("/nonexistent/model.bin"); }, "/nonexistent/model.bin: no such file");
}

TEST(HfConfig, ParsesLlamaConfigWithDefaults) {
  const auto c = parse_hf_config(R"({"architectures":["LlamaForCausalLM"],"hidden_size":4096,
    "intermediate_size":11008,"num_hidden_layers":32,"num_attention_heads":32,"num_key_value_heads":8,
    "vocab_size":32000,"max_position_embeddings":4096,"rope_theta":500000.0,"rms_norm_eps":1e-5})", "config.json");
  EXPECT_EQ(c.kv_dim(), 1024);
  EXPECT_FLOAT_EQ(c.rope_theta, 500000.f);
  EXPECT_FALSE(c.tied_classifier);  // transformers' LlamaConfig default
}

TEST(HfConfig, ImpossibleValuesAreReported) {
  const std::string base = R"("hidden_size":64,"intermediate_size":172,"num_hidden_layers":5,"vocab_size":512,"max_position_embeddings":512)";
  expect_error([&] { parse_hf_config("{" + base + R"(,"num_attention_heads":0})", "c.json"); },
               "'num_attention_heads' = 0 is outside [1, 1073741824]");
  expect_error([&] { parse_hf_config("{" + base + R"(,"num_attention_heads":8,"num_key_value_heads":3})", "c.json"); },
               "n_heads 8 is not a multiple of n_kv_heads 3");
  expect_error([&] { parse_hf_config("{" + base + R"(,"num_attention_heads":8,"rms_norm_eps":-1})", "c.json"); },
               "rms_norm_eps must be positive");
  expect_error([&] { parse_hf_config(R"({"architectures":["GPT2LMHeadModel"]})", "c.json"); }, "unsupported architecture");
  expect_error([&] { parse_hf_config("{" + base + "}", "c.json"); }, "missing 'num_attention_heads'");
  expect_error([&] { parse_hf_config("[1,2", "c.json"); }, "not valid JSON");
}

// The size bounds the README lists, one past each: named with the limit, before any allocation.
TEST(HfConfig, EverySizeBoundIsEnforced) {
  struct Case {
    const char* key;
    long value;
    const char* needle;
  };
  const Case cases[] = {
      {"hidden_size", LlamaConfig::kMaxDim + 8, "dim 1048584 exceeds the limit 1048576"},
      {"intermediate_size", LlamaConfig::kMaxDim + 1, "hidden_dim 1048577 exceeds the limit 1048576"},
      {"num_hidden_layers", LlamaConfig::kMaxLayers + 1, "n_layers 4097 exceeds the limit 4096"},
      {"vocab_size", LlamaConfig::kMaxVocab + 1, "vocab_size 4194305 exceeds the limit 4194304"},
      {"max_position_embeddings", LlamaConfig::kMaxContext + 1, "seq_len 16777217 exceeds the limit 16777216"},
  };
  for (const auto& c : cases) {
    nlohmann::json j = {{"hidden_size", 64}, {"intermediate_size", 172}, {"num_hidden_layers", 5}, {"vocab_size", 512},
                        {"max_position_embeddings", 512}, {"num_attention_heads", 8}};
    j[c.key] = c.value;
    expect_error([&] { parse_hf_config(j.dump(), "c.json"); }, c.needle);
  }
  expect_error([&] { parse_hf_config(R"({"hidden_size":64,"intermediate_size":172,"num_hidden_layers":5,"vocab_size":512,
      "max_position_embeddings":512,"num_attention_heads":8,"num_key_value_heads":16})", "c.json"); },
               "n_kv_heads 16 exceeds the limit 8");
}

TEST(HfCheckpoint, RowPermutationRoundTrips) {
  Tensor w{{16, 3}, {}};
  for (int i = 0; i < 48; ++i) w.data.push_back(float(i));
  const Tensor hf = permute_rows_to_hf(w, 2);
  EXPECT_NE(hf.data, w.data);
  // Head 0, pair j = 1: llama2.c rows 2 and 3 become HF rows 1 and 5 (head size 8, half 4).
  EXPECT_EQ(hf.data[1 * 3], w.data[2 * 3]);
  EXPECT_EQ(hf.data[5 * 3], w.data[3 * 3]);
  EXPECT_EQ(permute_rows_from_hf(hf, 2).data, w.data);
}

}  // namespace mixq::io
