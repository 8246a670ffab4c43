#pragma once
// tokenizer.json "model" of type BPE: a vocabulary and merges by rank, applied within one
// pre-tokenized word at a time exactly as the tokenizers library does (lowest rank first, leftmost
// among equal ranks), with byte_fallback (<0xXX> tokens for characters outside the vocabulary),
// unk/fuse_unk and ignore_merges (a word that is itself a token is not merged further).
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

namespace mixq::io {

class BpeModel {
 public:
  BpeModel(const nlohmann::json& model, const std::string& where);
  // Transparent: string_view lookups without building a std::string.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // Merged chunks of words, per encode call (a tokenizer may be shared by threads).
  using Cache = std::unordered_map<std::string, std::vector<int>, Hash, std::equal_to<>>;
  // Appends the ids of `word` (in the vocabulary's alphabet: byte-level characters or UTF-8).
  void encode_word(std::string_view word, std::vector<int>& out, Cache& cache) const;
  // The token id of `piece`, -1 when it is not in the vocabulary.
  int find(std::string_view piece) const;
  // 1 + the largest id.
  int size() const { return int(pieces_.size()); }
  // The vocabulary's string for `id` (empty for an id it lacks).
  const std::string& piece(int id) const { return pieces_[size_t(id)]; }
  // The byte a byte-fallback token "<0xXX>" stands for, -1 for any other token.
  int fallback_byte(int id) const;

 private:
  struct Merge {
    int rank, id;
  };
  static uint64_t pair_key(int a, int b) { return uint64_t(uint32_t(a)) << 32 | uint32_t(b); }
  void symbols_of(std::string_view word, std::vector<int>& symbols) const;
  // BPE proper: the word's symbols merged by rank.
  void merge_chunk(std::string_view word, std::vector<int>& out) const;
  void index_joins();

  std::unordered_map<std::string, int, Hash, std::equal_to<>> ids_;
  std::vector<std::string> pieces_;
  std::unordered_map<uint64_t, Merge> merges_;
  std::vector<int> byte_tokens_;  // byte_fallback: id of <0xXX> per byte, or empty
  std::unordered_set<uint64_t> joins_;  // (code point, next code point) inside some token
  bool cuttable_ = false;
  int unk_ = -1;
  bool fuse_unk_ = false, ignore_merges_ = false;
};

}  // namespace mixq::io
