#pragma once
// A tokenizer as GGUF's tokenizer.ggml.* keys hold it, both ways: "llama" (a scored
// SentencePiece-style vocabulary: llama2.c and tokenizer.model files) and "gpt2" (a byte-level BPE
// with merges: tokenizer.json of Llama-3 and Qwen, whose pre-tokenizer llama.cpp knows by name).
#include <memory>
#include <string>
#include <vector>

#include "mixq/io/gguf.hpp"
#include "mixq/io/tokenizer.hpp"

namespace mixq::io {

struct GgufVocab {
  std::string model;  // "llama" or "gpt2"
  std::string pre;    // gpt2: llama.cpp's name of the pre-tokenizer ("llama-bpe", "qwen2")
  std::vector<std::string> tokens;
  std::vector<float> scores;   // llama only
  std::vector<int32_t> types;  // ScoredVocab::Type
  std::vector<std::string> merges;  // gpt2 only: "left right", highest priority first
  int bos = -1, eos = -1, unk = -1;
  bool add_bos = true, add_space_prefix = true;
};

// The tokenizer's GGUF keys; Error naming `where` and what GGUF cannot say (a tokenizer.json that
// is not byte-level BPE, or whose pre-tokenizer llama.cpp has no name for).
GgufVocab gguf_vocab_of(const Tokenizer& tok, const std::string& where);
// Writes the keys, the token list padded with unused tokens to `rows` (llama.cpp wants one token
// per embedding row).
void write_gguf_vocab(GgufWriter& w, GgufVocab v, int rows);
// The keys of `f`; Error when it has none or they disagree (counts, ids past the tokens).
GgufVocab read_gguf_vocab(const GgufFile& f);
// The tokenizer the keys describe: llama → a SentencePiece model rebuilt from the scored
// vocabulary; gpt2 → a tokenizer.json rebuilt from tokens, merges and the named pre-tokenizer.
std::unique_ptr<Tokenizer> gguf_vocab_tokenizer(const GgufVocab& v, const std::string& where);

}  // namespace mixq::io
