#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "mixq/core/error.hpp"
#include "mixq/io/mapped_file.hpp"
#include "mixq/io/tokenizer.hpp"
#include "test_paths.hpp"

namespace mixq::io {
namespace {

const char* kLily =
    "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, "
    "she saw a big, red ball.";
const char* kUnicode = "Tom said: \"Wow! Look at the 3 dogs and the caf\xC3\xA9 \xE2\x80\x94 they're running fast!\" Then he laughed.";

}  // namespace

// Token ids for the prompts must equal those llama2.c's own encode() produced.
TEST(Llama2cTokenizer, MatchesReferenceIdsForEveryModelAndPrompt) {
  for (const auto& m : test::kRealModels) {
    const std::string dir = test::shared_path(std::string("reference/") + m.name);
    MIXQ_REQUIRE_FILE(dir);
    Llama2cTokenizer tok(test::shared_path(std::string("models/") + m.name + "/tok512.bin"));
    EXPECT_EQ(tok.encode(kLily, true), test::read_ids(dir + "/lily.tokens.txt")) << m.name;
    EXPECT_EQ(tok.encode(kUnicode, true), test::read_ids(dir + "/unicode.tokens.txt")) << m.name;
    EXPECT_EQ(tok.encode_reference(kUnicode, true), test::read_ids(dir + "/unicode.tokens.txt")) << m.name;
  }
}

TEST(Llama2cTokenizer, RepositoryCopyOfTok512MatchesReference) {
  MIXQ_REQUIRE_FILE(test::shared_path("reference/stories260K/lily.tokens.txt"));
  Llama2cTokenizer tok(test::repo_model_path("stories260K/tok512.bin"));
  EXPECT_EQ(tok.encode(kLily, true), test::read_ids(test::shared_path("reference/stories260K/lily.tokens.txt")));
}

// The priority-queue merge must give exactly run.c's quadratic merge result.
TEST(Llama2cTokenizer, PriorityQueueMergeEqualsReferenceLoop) {
  struct Case {
    const char* tokenizer;
    const char* text;
  };
  for (const Case c : {Case{"models/stories260K/tok512.bin", "data/tinystories/tinystories_valid_head.txt"},
                       Case{"models/llama2-tokenizer-32k/tokenizer.bin", "data/wikitext-2-raw/wiki.test.raw"}}) {
    MIXQ_REQUIRE_FILE(test::shared_path(c.tokenizer));
    Llama2cTokenizer tok(test::shared_path(c.tokenizer));
    const std::string text = read_whole_file(test::shared_path(c.text));
    // Quadratic reference: compare on 40 slices of 1500 bytes from across the file.
    for (size_t i = 0; i < 40; ++i) {
      const size_t start = text.size() * i / 40;
      const std::string slice = text.substr(start, 1500);
      ASSERT_EQ(tok.encode(slice, true), tok.encode_reference(slice, true)) << c.text << " @" << start;
    }
  }
}

TEST(Llama2cTokenizer, DecodeRoundTripsEvaluationTextsByteExactly) {
  for (const char* rel : {"data/tinystories/tinystories_valid_head.txt", "data/wikitext-2-raw/wiki.test.raw"}) {
    MIXQ_REQUIRE_FILE(test::shared_path(rel));
    const std::string text = read_whole_file(test::shared_path(rel));
    for (const char* tk : {"models/stories260K/tok512.bin", "models/llama2-tokenizer-32k/tokenizer.bin"}) {
      Llama2cTokenizer tok(test::shared_path(tk));
      const auto ids = tok.encode(text, true);
      EXPECT_GT(ids.size(), text.size() / 8);
      EXPECT_TRUE(tok.decode_all(ids) == text) << rel << " with " << tk;
    }
  }
}

TEST(Llama2cTokenizer, ByteFallbackForCharactersOutsideTheVocabulary) {
  MIXQ_REQUIRE_FILE(test::shared_path("models/stories260K/tok512.bin"));
  Llama2cTokenizer tok(test::shared_path("models/stories260K/tok512.bin"));
  const auto ids = tok.encode("\xE4\xB8\xAD", false);  // 中: 3 bytes, not in tok512
  ASSERT_EQ(ids.size(), 4u);
  EXPECT_EQ(std::vector<int>(ids.begin() + 1, ids.end()), (std::vector<int>{0xE4 + 3, 0xB8 + 3, 0xAD + 3}));
  EXPECT_EQ(tok.piece(ids[0]), " ");  // the dummy-prefix space
  EXPECT_EQ(tok.decode_all(ids), " \xE4\xB8\xAD");
}

// SentencePiece's own encoder and llama2.c's export of the same 32k vocabulary agree.
TEST(SentencePieceTokenizer, AgreesWithLlama2cExportOfTheSameVocabulary) {
  MIXQ_REQUIRE_FILE(test::shared_path("models/llama2-tokenizer-32k/tokenizer.model"));
  SentencePieceTokenizer sp(test::shared_path("models/llama2-tokenizer-32k/tokenizer.model"));
  Llama2cTokenizer l2c(test::shared_path("models/llama2-tokenizer-32k/tokenizer.bin"));
  EXPECT_EQ(sp.vocab_size(), 32000);
  for (const char* text : {kLily, kUnicode, "Hello world", " = Robert Boulter = "})
    EXPECT_EQ(sp.encode(text, true), l2c.encode(text, true)) << text;
  const auto ids = sp.encode(kUnicode, true);
  EXPECT_EQ(sp.decode_all(ids), kUnicode);
}

// A GGUF "llama" vocabulary becomes a SentencePiece model rebuilt from pieces, scores and types
// (sentencepiece_model_from_vocab): rebuilt from Llama-2's own vocabulary it must encode the
// evaluation texts and the stress text exactly as the original tokenizer.model does.
TEST(SentencePieceTokenizer, RebuiltFromItsScoredVocabularyEncodesAsTheOriginal) {
  MIXQ_REQUIRE_FILE(test::shared_path("models/llama2-tokenizer-32k/tokenizer.model"));
  SentencePieceTokenizer sp(test::shared_path("models/llama2-tokenizer-32k/tokenizer.model"));
  const auto vocab = sp.scored_vocab();
  ASSERT_TRUE(vocab.has_value());
  const auto rebuilt = tokenizer_from_bytes(
      "sentencepiece", sentencepiece_model_from_vocab(*vocab, sp.bos_id(), sp.eos_id(), true, "llama2 vocabulary"), "rebuilt");
  EXPECT_EQ(rebuilt->vocab_size(), sp.vocab_size());
  EXPECT_EQ(rebuilt->bos_id(), 1);
  EXPECT_EQ(rebuilt->eos_id(), 2);
  EXPECT_EQ(rebuilt->scored_vocab()->tokens, vocab->tokens);
  EXPECT_EQ(rebuilt->scored_vocab()->types, vocab->types);
  std::vector<std::string> texts = {kLily, kUnicode, "", " ", "  two  spaces\n\ttab", read_whole_file(MIXQ_SOURCE_DIR "/tests/data/tokenizer_stress.txt")};
  for (const char* rel : {"data/wikitext-2-raw/wiki.test.raw", "data/tinystories/tinystories_valid_head.txt"})
    if (std::ifstream(test::shared_path(rel))) texts.push_back(read_whole_file(test::shared_path(rel)).substr(0, 60000));
  for (const std::string& text : texts) {
    const auto ids = sp.encode(text, true);
    EXPECT_EQ(rebuilt->encode(text, true), ids) << text.substr(0, 80);
    EXPECT_EQ(rebuilt->decode_all(ids), sp.decode_all(ids));
  }
  ScoredVocab no_unk = *vocab;
  no_unk.unk_id = -1;
  EXPECT_THROW(sentencepiece_model_from_vocab(no_unk, 1, 2, true, "v"), Error);
  ScoredVocab twice = *vocab;
  twice.tokens[300] = twice.tokens[301];
  EXPECT_THROW(sentencepiece_model_from_vocab(twice, 1, 2, true, "v"), Error);
}

// Fuzzer finding (fuzz_tokenizer): a well-formed file with fewer than 259 tokens made the byte
// fallback of encode() index past the vocabulary. Such a file is now refused when loaded.
TEST(Llama2cTokenizer, VocabularyWithoutByteTokensIsRefused) {
  std::string bytes(4, '\0');
  bytes[0] = 8;  // max_token_length
  for (int i = 0; i < 10; ++i) {
    const float score = 0;
    const int32_t len = 1;
    bytes.append(reinterpret_cast<const char*>(&score), 4).append(reinterpret_cast<const char*>(&len), 4);
    bytes.push_back(char('a' + i));
  }
  try {
    tokenizer_from_bytes("llama2c", bytes, "small.bin");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("at least 259"), std::string::npos) << e.what();
  }
}

// Fuzzer finding (fuzz_tokenizer, 10-minute run): a SentencePiece model with a NUL byte inside a
// piece made libsentencepiece's trie builder throw where the exception cannot propagate (abort).
// mixq now scans the pieces first and refuses the file; malformed protobuf is refused too.
TEST(SentencePieceTokenizer, PieceWithNulByteIsRefusedBeforeTheLibrarySeesIt) {
  const std::string piece = std::string("\x0A\x03" "a", 3) + std::string(1, '\0') + "b";  // SentencePiece{piece: "a\0b"}
  const std::string model = std::string("\x0A", 1) + char(piece.size()) + piece;           // ModelProto{pieces: …}
  for (const auto& [bytes, needle] : {std::pair{model, "NUL byte"}, std::pair{std::string("\x0A\x7F", 2), "malformed"}}) {
    try {
      tokenizer_from_bytes("sentencepiece", bytes, "bad.model");
      FAIL() << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  }
}

TEST(Llama2cTokenizer, TruncatedFileIsReported) {
  test::TempDir dir;
  const std::string src = read_whole_file(test::repo_model_path("stories260K/tok512.bin"));
  const std::string path = dir / "tok.bin";
  std::ofstream(path, std::ios::binary) << src.substr(0, src.size() - 3);
  try {
    Llama2cTokenizer tok(path);
    FAIL();
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("truncated tokenizer"), std::string::npos) << e.what();
  }
}

}  // namespace mixq::io
