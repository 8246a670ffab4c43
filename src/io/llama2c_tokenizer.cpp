#include <cmath>
#include <cstdio>
#include <cstring>
#include <queue>
#include <unordered_map>

#include "mixq/core/error.hpp"
#include "mixq/io/mapped_file.hpp"
#include "mixq/io/tokenizer.hpp"
#include "text_util.hpp"

namespace mixq::io {
namespace {
constexpr size_t kMinVocab = 3 + 256;
}  // namespace

struct Llama2cTokenizer::Index {
  std::unordered_map<std::string_view, int> ids;  // views into pieces_
};

Llama2cTokenizer::Llama2cTokenizer(const std::string& path) : Llama2cTokenizer(read_whole_file(path), path) {}

Llama2cTokenizer::Llama2cTokenizer(std::string bytes, const std::string& path) {
  file_bytes_ = std::move(bytes);
  const std::span<const uint8_t> b(reinterpret_cast<const uint8_t*>(file_bytes_.data()), file_bytes_.size());
  size_t pos = 0;
  auto read_i32 = [&](const char* what) {
    if (b.size() - pos < 4) fail(path, "truncated tokenizer: {} at byte {} past end of file", what, pos);
    int32_t v;
    std::memcpy(&v, b.data() + pos, 4);
    pos += 4;
    return v;
  };
  const int32_t max_len = read_i32("max_token_length");
  if (max_len <= 0 || max_len > 1024) fail(path, "implausible max_token_length {}", max_len);
  while (pos < b.size()) {
    const size_t id = pieces_.size();
    float score;
    const int32_t s = read_i32("score");
    std::memcpy(&score, &s, 4);
    // Merges pick the highest score: a NaN compares false both ways and would make encoding
    // depend on the order pairs are visited.
    if (!std::isfinite(score)) fail(path, "token {} has a non-finite merge score ({})", id, score);
    const int32_t len = read_i32("length");
    if (len < 0 || len > max_len)
      fail(path, "token {} has length {} outside [0, max_token_length {}]", id, len, max_len);
    if (b.size() - pos < size_t(len)) fail(path, "truncated tokenizer: token {} bytes past end of file", id);
    pieces_.emplace_back(reinterpret_cast<const char*>(b.data() + pos), size_t(len));
    scores_.push_back(score);
    pos += size_t(len);
  }
  // Characters outside the vocabulary fall back to byte tokens 3 + b (run.c's encoder), so ids
  // 3…258 must exist: a smaller vocabulary would make encode() index past it.
  if (pieces_.size() < kMinVocab)
    fail(path, "tokenizer has {} tokens; a llama2.c tokenizer holds at least {} (<unk>, BOS, EOS, 256 byte tokens)",
         pieces_.size(), kMinVocab);
  auto index = std::make_shared<Index>();
  for (size_t i = 0; i < pieces_.size(); ++i) index->ids.emplace(pieces_[i], int(i));  // first wins
  index_ = std::move(index);
}

int Llama2cTokenizer::lookup(std::string_view s) const {
  auto it = index_->ids.find(s);
  return it == index_->ids.end() ? -1 : it->second;
}

// BOS, the dummy-prefix space, then one token per UTF-8 code point (or its bytes + 3 when the
// code point is not in the vocabulary), exactly as run.c builds the sequence before merging.
std::vector<int> Llama2cTokenizer::initial_tokens(std::string_view text, bool bos) const {
  std::vector<int> t;
  t.reserve(text.size() + 2);
  if (bos) t.push_back(bos_id());
  if (!text.empty()) {
    const int space = lookup(" ");
    if (space >= 0) t.push_back(space);
  }
  auto is_cont = [](char c) { return (uint8_t(c) & 0xC0) == 0x80; };
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (!is_cont(text[i])) start = i;
    const size_t len = i - start + 1;
    if (i + 1 < text.size() && is_cont(text[i + 1]) && len < 4) continue;
    const std::string_view cp = text.substr(start, len);
    const int id = lookup(cp);
    if (id >= 0) {
      t.push_back(id);
    } else {
      for (char c : cp) t.push_back(int(uint8_t(c)) + 3);
    }
    start = i + 1;
  }
  return t;
}

std::vector<int> Llama2cTokenizer::encode_reference(std::string_view text, bool bos) const {
  std::vector<int> t = initial_tokens(text, bos);
  std::string buf;
  for (;;) {
    float best_score = -1e10f;
    int best_id = -1;
    size_t best_idx = 0;
    for (size_t i = 0; i + 1 < t.size(); ++i) {
      buf = pieces_[size_t(t[i])] + pieces_[size_t(t[i + 1])];
      const int id = lookup(buf);
      if (id != -1 && scores_[size_t(id)] > best_score) {
        best_score = scores_[size_t(id)];
        best_id = id;
        best_idx = i;
      }
    }
    if (best_id == -1) break;
    t[best_idx] = best_id;
    t.erase(t.begin() + long(best_idx) + 1);
  }
  return t;
}

std::vector<int> Llama2cTokenizer::encode(std::string_view text, bool bos) const {
  std::vector<int> tok = initial_tokens(text, bos);
  const int n = int(tok.size());
  // Doubly linked list over the initial positions; a merge keeps the left node.
  std::vector<int> prev(tok.size()), next(tok.size());
  for (int i = 0; i < n; ++i) {
    prev[size_t(i)] = i - 1;
    next[size_t(i)] = i + 1 < n ? i + 1 : -1;
  }
  struct Candidate {
    float score;
    int left, left_tok, right_tok, merged;
    // Highest score first; on ties the leftmost pair, as run.c's strict '>' scan picks.
    bool operator<(const Candidate& o) const {
      return score != o.score ? score < o.score : left > o.left;
    }
  };
  std::priority_queue<Candidate> queue;
  std::string buf;
  auto consider = [&](int left) {
    const int right = left >= 0 ? next[size_t(left)] : -1;
    if (left < 0 || right < 0) return;
    buf = pieces_[size_t(tok[size_t(left)])] + pieces_[size_t(tok[size_t(right)])];
    const int id = lookup(buf);
    if (id != -1 && scores_[size_t(id)] > -1e10f)
      queue.push({scores_[size_t(id)], left, tok[size_t(left)], tok[size_t(right)], id});
  };
  for (int i = 0; i + 1 < n; ++i) consider(i);
  std::vector<char> alive(tok.size(), 1);
  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    const int right = next[size_t(c.left)];
    // A candidate is stale once either of its tokens has changed (merged tokens only grow, so
    // an id never returns to a node).
    if (!alive[size_t(c.left)] || right < 0 || tok[size_t(c.left)] != c.left_tok ||
        tok[size_t(right)] != c.right_tok)
      continue;
    tok[size_t(c.left)] = c.merged;
    alive[size_t(right)] = 0;
    next[size_t(c.left)] = next[size_t(right)];
    if (next[size_t(right)] >= 0) prev[size_t(next[size_t(right)])] = c.left;
    consider(prev[size_t(c.left)]);
    consider(c.left);
  }
  std::vector<int> out;
  out.reserve(tok.size());
  for (int i = n > 0 ? 0 : -1; i >= 0; i = next[size_t(i)]) out.push_back(tok[size_t(i)]);
  return out;
}

std::string Llama2cTokenizer::decode(int prev, int token) const {
  if (token < 0 || token >= vocab_size()) fail("tokenizer", "token id {} outside vocabulary of {}", token, vocab_size());
  std::string_view piece = pieces_[size_t(token)];
  if (prev == bos_id() && !piece.empty() && piece[0] == ' ') piece.remove_prefix(1);
  unsigned byte;
  if (piece.size() == 6 && std::sscanf(std::string(piece).c_str(), "<0x%02X>", &byte) == 1)
    return std::string(1, char(byte));
  return std::string(piece);
}

std::optional<ScoredVocab> Llama2cTokenizer::scored_vocab() const {
  ScoredVocab v;
  v.unk_id = 0;
  for (size_t id = 0; id < pieces_.size(); ++id) {
    std::string text = pieces_[id];
    int32_t type = ScoredVocab::Normal;
    unsigned byte = 0;
    char tail = 0;
    if (id == 0) {
      text = "<unk>";
      type = ScoredVocab::Unknown;
    } else if (id == 1 || id == 2) {
      text = id == 1 ? "<s>" : "</s>";
      type = ScoredVocab::Control;
    } else if (text.empty()) {
      type = ScoredVocab::Control;
    } else if (text.size() == 6 && std::sscanf(text.c_str(), "<0x%2X%c", &byte, &tail) == 2 && tail == '>') {
      type = ScoredVocab::Byte;
    }
    replace_all(text, " ", "\xE2\x96\x81");  // SentencePiece's space mark, U+2581 "▁"
    v.tokens.push_back(std::move(text));
    v.scores.push_back(scores_[id]);
    v.types.push_back(type);
  }
  return v;
}

}  // namespace mixq::io
