#pragma once
// Hugging Face tokenizer.json, as the tokenizers library (Rust) encodes it: added and special tokens
// matched whole in the raw text first, then per remaining piece the normalizer (NFC, Prepend,
// Replace, ...), the pre-tokenizer (Split by regex, ByteLevel, Metaspace, ...), BPE by merge rank
// (byte-level as Llama-3 and Qwen, or SentencePiece-style with byte_fallback as Llama-2/Mistral),
// and the post-processor's special tokens. BOS/EOS come from tokenizer_config.json beside it.
// Unsupported component types are refused by name, never approximated.
#include <memory>
#include <string>

#include "mixq/io/tokenizer.hpp"

namespace mixq::io {

class HfTokenizer final : public Tokenizer {
 public:
  // tokenizer.json at `path`, and tokenizer_config.json in its folder when there is one.
  explicit HfTokenizer(const std::string& path);
  // From file_bytes(): tokenizer.json's bytes, a NUL, tokenizer_config.json's bytes (maybe none).
  HfTokenizer(std::string bundle, const std::string& where);
  // tokenizer.json and (when the bundle has one) tokenizer_config.json.
  std::vector<DirFile> dir_files() const override;
  ~HfTokenizer() override;

  std::vector<int> encode(std::string_view text, bool bos) const override;
  // A token after BOS (or prev < 0) starts the text: the decoder's Strip/Metaspace drops its
  // leading space. Unknown ids (gaps in the vocabulary, padded embedding rows) decode to nothing, as in
  // transformers.
  std::string decode(int prev, int token) const override;
  // As the library decodes: only the first token is the text's start, even after a BOS that the
  // text itself holds.
  std::string decode_all(const std::vector<int>& ids) const override;
  int vocab_size() const override;
  const char* kind() const override { return "hf-tokenizer"; }

 private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;
};

}  // namespace mixq::io
