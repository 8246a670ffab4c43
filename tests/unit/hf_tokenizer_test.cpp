// tokenizer.json on a small file (tests/data/tiny_tokenizer.json: byte-level BPE with Llama-3's
// kind of Split regex, NFC, an added BOS): encoding, and the clear errors bad files get.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "mixq/core/error.hpp"
#include "mixq/io/hf_tokenizer.hpp"
#include "mixq/io/mapped_file.hpp"

namespace mixq::io {
namespace {

const std::string kDir = MIXQ_SOURCE_DIR "/tests/data/";

std::string bundle(const nlohmann::json& tj) {
  return tj.dump() + '\0' + read_whole_file(kDir + "tiny_tokenizer_config.json");
}

nlohmann::json tiny() { return nlohmann::json::parse(read_whole_file(kDir + "tiny_tokenizer.json")); }

void expect_error(const std::string& bytes, const std::string& needle) {
  try {
    HfTokenizer tok(bytes, "bad.json");
    ADD_FAILURE() << "accepted; expected an error naming " << needle;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).rfind("bad.json", 0), 0u) << e.what();
  }
}

TEST(HfTokenizer, MergesByRankAndKeepsAddedTokensWhole) {
  const HfTokenizer tok(bundle(tiny()), "tiny");
  const int bos = tok.bos_id();
  EXPECT_EQ(bos, 256 + 5);
  EXPECT_EQ(tok.eos_id(), bos + 1);
  // " the" → Ġ t h e → Ġt, he → Ġthe (ranks 0, 1, 2); "<s>" inside the text stays one token.
  const auto ids = tok.encode("in the<s>", true);
  ASSERT_EQ(ids.size(), 4u);
  EXPECT_EQ(ids[0], bos);
  EXPECT_EQ(ids[3], bos);
  EXPECT_EQ(tok.decode_all(ids), "in the<s>");
  EXPECT_EQ(tok.encode("e\xCC\x81", false), tok.encode("\xC3\xA9", false));  // NFC: e + U+0301 = é
}

TEST(HfTokenizer, UnsupportedComponentsAreRefusedByName) {
  auto t = tiny();
  t["normalizer"] = {{"type", "BertNormalizer"}};
  expect_error(bundle(t), "normalizer type 'BertNormalizer' is not supported");
  t = tiny();
  t["pre_tokenizer"] = {{"type", "Whitespace"}};
  expect_error(bundle(t), "pre_tokenizer type 'Whitespace' is not supported");
  t = tiny();
  t["model"]["type"] = "WordPiece";
  expect_error(bundle(t), "model type 'WordPiece' is not supported");
  t = tiny();
  t["decoder"] = {{"type", "WordPiece"}};
  expect_error(bundle(t), "decoder type 'WordPiece' is not supported");
  t = tiny();
  t["post_processor"] = {{"type", "RobertaProcessing"}};
  expect_error(bundle(t), "post_processor type 'RobertaProcessing' is not supported");
}

TEST(HfTokenizer, MalformedFilesGetClearErrors) {
  expect_error("{\"model\": ", "malformed tokenizer.json");
  auto t = tiny();
  t["model"]["merges"].push_back("x zz");
  expect_error(bundle(t), "merge 5");
  t = tiny();
  t["model"]["vocab"]["huge"] = 1e30;
  expect_error(bundle(t), "is not an integer");
  t = tiny();
  t["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "(unclosed";
  expect_error(bundle(t), "regex '(unclosed'");
  expect_error(tiny().dump() + '\0' + "{\"bos_token\": \"<nope>\"}", "bos_token '<nope>' is not a token");
}

TEST(HfTokenizer, InvalidUtf8TextIsRefused) {
  const HfTokenizer tok(bundle(tiny()), "tiny");
  EXPECT_THROW(tok.encode("ok \xFF", false), Error);
  EXPECT_THROW(tok.encode("\xC0\xAF", false), Error);  // overlong '/'
}

}  // namespace
}  // namespace mixq::io
