#pragma once
// Text <-> token ids. Three implementations: llama2.c's tokenizer.bin (BPE by merge score with
// byte fallback, exactly as run.c encodes), SentencePiece's tokenizer.model, and Hugging Face's
// tokenizer.json (hf_tokenizer.hpp: Llama-3, Qwen, Llama-2/Mistral files).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mixq::io {

// A SentencePiece-style vocabulary as llama.cpp's GGUF metadata holds it (tokenizer.ggml.model
// "llama"): each token's text with spaces as U+2581 "▁", its score, and its type in llama.cpp's
// (and SentencePiece's) numbering.
struct ScoredVocab {
  enum Type : int32_t { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 };
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> types;
  int unk_id = -1;
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // Token ids of `text`, with BOS first when `bos` (tokenizer.json: the special tokens its
  // post-processor adds, as transformers' add_special_tokens; none where the family has no BOS);
  // a leading dummy-prefix space as Llama's SentencePiece model adds.
  virtual std::vector<int> encode(std::string_view text, bool bos) const = 0;
  // The bytes token `token` stands for when it follows `prev` (the space after BOS is dropped,
  // byte-fallback tokens become their byte).
  virtual std::string decode(int prev, int token) const = 0;
  virtual int vocab_size() const = 0;
  // -1 where the tokenizer has none (Qwen has no BOS).
  int bos_id() const { return bos_id_; }
  int eos_id() const { return eos_id_; }
  // The chat template tokenizer_config.json carries ("" when none; io/chat_template.hpp renders
  // it) and the texts of the BOS / EOS tokens it names, which templates print.
  const std::string& chat_template() const { return chat_template_; }
  const std::string& bos_text() const { return bos_text_; }
  const std::string& eos_text() const { return eos_text_; }

  // Concatenated decode of a whole id sequence (a leading BOS is left out).
  virtual std::string decode_all(const std::vector<int>& ids) const;
  // "llama2c", "sentencepiece" or "hf-tokenizer", and the file's bytes: what a quantized model file embeds so it
  // needs nothing beside it (tokenizer_from_bytes rebuilds the tokenizer).
  virtual const char* kind() const = 0;
  const std::string& file_bytes() const { return file_bytes_; }
  // The files a model directory holds for this tokenizer, as (file name, bytes): what
  // load_checkpoint finds beside the model and loads back to the same tokenizer.
  struct DirFile {
    std::string name, bytes;
  };
  virtual std::vector<DirFile> dir_files() const;
  // The vocabulary as a scored SentencePiece-style list (llama2.c and SentencePiece files);
  // nullopt for a tokenizer that is not one (tokenizer.json's BPE).
  virtual std::optional<ScoredVocab> scored_vocab() const { return std::nullopt; }

 protected:
  std::string file_bytes_;
  int bos_id_ = 1, eos_id_ = 2;  // Llama-2's SentencePiece ids, which llama2.c's files share
  std::string chat_template_, bos_text_, eos_text_;
};

class Llama2cTokenizer final : public Tokenizer {
 public:
  // Reads tokenizer.bin / tok512.bin: int32 max_token_length, then per token float32 score,
  // int32 length, bytes — until the end of the file.
  explicit Llama2cTokenizer(const std::string& path);
  // The same from the file's bytes; `where` names them in errors.
  Llama2cTokenizer(std::string bytes, const std::string& where);

  // O(n log n): merges from a priority queue (highest score, then leftmost), which gives the
  // same ids as run.c's quadratic loop.
  std::vector<int> encode(std::string_view text, bool bos) const override;
  // run.c's encode() verbatim in behaviour (quadratic): the specification the fast path is
  // tested against.
  std::vector<int> encode_reference(std::string_view text, bool bos) const;
  std::string decode(int prev, int token) const override;
  int vocab_size() const override { return int(pieces_.size()); }
  const char* kind() const override { return "llama2c"; }
  const std::string& piece(int id) const { return pieces_.at(size_t(id)); }
  // As llama.cpp's convert-llama2c-to-ggml reads this file: 0 <unk>, 1 <s>, 2 </s>, <0xXX> bytes,
  // an empty piece a control token, spaces written as ▁.
  std::optional<ScoredVocab> scored_vocab() const override;

 private:
  std::vector<int> initial_tokens(std::string_view text, bool bos) const;
  int lookup(std::string_view s) const;

  std::vector<std::string> pieces_;
  std::vector<float> scores_;
  struct Index;
  std::shared_ptr<const Index> index_;
};

class SentencePieceTokenizer final : public Tokenizer {
 public:
  explicit SentencePieceTokenizer(const std::string& path);
  // From a serialized ModelProto (the .model file's bytes).
  SentencePieceTokenizer(std::string bytes, const std::string& where);
  ~SentencePieceTokenizer() override;
  std::vector<int> encode(std::string_view text, bool bos) const override;
  std::string decode(int prev, int token) const override;
  int vocab_size() const override;
  const char* kind() const override { return "sentencepiece"; }
  std::optional<ScoredVocab> scored_vocab() const override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A SentencePiece BPE model with byte fallback (a serialized ModelProto, what
// SentencePieceTokenizer loads) holding `vocab`'s pieces, scores and types: how a GGUF "llama"
// vocabulary becomes a tokenizer that encodes as the original tokenizer.model did. Error naming
// `where` for a vocabulary SentencePiece cannot hold (no unknown token, duplicate pieces).
std::string sentencepiece_model_from_vocab(const ScoredVocab& vocab, int bos_id, int eos_id, bool add_dummy_prefix,
                                           const std::string& where);

// Opens `path` as Hugging Face tokenizer.json (.json), SentencePiece (.model), the tokenizer of a
// GGUF model (.gguf, gguf_vocab.hpp) or llama2.c (anything else).
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path);
// Every file name a tokenizer may have in a model directory (dir_files of every kind).
std::vector<std::string> tokenizer_dir_file_names();
// Rebuilds a tokenizer of `kind` (Tokenizer::kind()) from its file_bytes().
std::unique_ptr<Tokenizer> tokenizer_from_bytes(const std::string& kind, std::string bytes, const std::string& where);

}  // namespace mixq::io
