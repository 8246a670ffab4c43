#include "bpe_model.hpp"

#include <queue>

#include <fmt/format.h>

#include "mixq/core/error.hpp"
#include "text_util.hpp"

namespace mixq::io {
namespace {

// Merges are "a b" strings (older files) or ["a", "b"] pairs (tokenizers ≥ 0.20).
std::pair<std::string, std::string> merge_parts(const nlohmann::json& m, size_t rank, const std::string& where) {
  if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) return {m[0], m[1]};
  if (m.is_string()) {
    const std::string s = m;
    const size_t space = s.find(' ');
    if (space != std::string::npos && s.find(' ', space + 1) == std::string::npos)
      return {s.substr(0, space), s.substr(space + 1)};
  }
  fail(where, "merge {} is neither \"a b\" nor [\"a\", \"b\"]", rank);
}

}  // namespace

BpeModel::BpeModel(const nlohmann::json& model, const std::string& where) {
  if (model.value("type", std::string("BPE")) != "BPE")
    fail(where, "model type '{}' is not supported (supported: BPE)", model.value("type", ""));
  if (const auto d = model.value("dropout", nlohmann::json()); !d.is_null() && !(d.is_number() && d.get<double>() == 0))
    fail(where, "BPE dropout is not supported (it makes encoding random)");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    const auto& v = model.value(key, nlohmann::json());
    if (!v.is_null() && !v.get<std::string>().empty()) fail(where, "BPE {} is not supported", key);
  }
  const auto& vocab = model.at("vocab");
  if (!vocab.is_object()) fail(where, "BPE vocab is not an object");
  ids_.reserve(vocab.size());
  for (const auto& [piece, id_json] : vocab.items()) {
    const int id = json_token_id(id_json, where + ": token '" + piece + "'");
    if (size_t(id) >= pieces_.size()) pieces_.resize(size_t(id) + 1);
    if (!pieces_[size_t(id)].empty() || piece.empty()) fail(where, "token id {} is given twice or to an empty string", id);
    pieces_[size_t(id)] = piece;
    ids_.emplace(piece, int(id));
  }
  const auto& merges = model.at("merges");
  merges_.reserve(merges.size());
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto [a, b] = merge_parts(merges[rank], rank, where);
    const int ia = find(a), ib = find(b), merged = find(a + b);
    if (ia < 0 || ib < 0 || merged < 0)
      fail(where, "merge {} ('{}' + '{}'): {} is not in the vocabulary", rank, a, b, ia < 0 ? a : ib < 0 ? b : a + b);
    merges_.insert_or_assign(pair_key(ia, ib), Merge{int(rank), merged});  // a repeated pair: the last wins, as in the library
  }
  if (model.value("byte_fallback", false)) {
    byte_tokens_.resize(256);
    for (int b = 0; b < 256; ++b)
      if ((byte_tokens_[size_t(b)] = find(fmt::format("<0x{:02X}>", b))) < 0)
        fail(where, "byte_fallback is set but the vocabulary lacks <0x{:02X}>", b);
  }
  const auto& unk = model.value("unk_token", nlohmann::json());
  if (!unk.is_null() && (unk_ = find(unk.get<std::string>())) < 0)
    fail(where, "unk_token '{}' is not in the vocabulary", unk.get<std::string>());
  fuse_unk_ = model.value("fuse_unk", false);
  ignore_merges_ = model.value("ignore_merges", false);
  index_joins();
}

// joins_: every pair of characters adjacent inside some token. Cutting words elsewhere is exact
// only while every merge joins the strings of its parts: not if byte-fallback or unk tokens
// (whose strings are not the characters they stand for) take part in merges.
void BpeModel::index_joins() {
  for (const auto& p : pieces_) {
    int64_t prev = -1;
    for_each_char(p, [&](std::string_view ch) {
      const uint32_t cp = code_point(ch);
      if (prev >= 0) joins_.insert(uint64_t(prev) << 32 | cp);
      prev = cp;
    });
  }
  cuttable_ = true;
  for (const auto& [key, merge] : merges_)
    for (const int part : {int(key >> 32), int(key & 0xFFFFFFFF)})
      if (part == unk_ || fallback_byte(part) >= 0) cuttable_ = false;
}

int BpeModel::find(std::string_view piece) const {
  const auto it = ids_.find(piece);
  return it == ids_.end() ? -1 : it->second;
}

int BpeModel::fallback_byte(int id) const {
  const int b = byte_tokens_.empty() ? -1 : byte_token_value(piece(id));
  return b >= 0 && byte_tokens_[size_t(b)] == id ? b : -1;
}

// The word's characters as ids: unknown characters become their bytes' <0xXX> tokens
// (byte_fallback), or unk (one per run of them with fuse_unk), or are dropped — the library's order.
void BpeModel::symbols_of(std::string_view word, std::vector<int>& symbols) const {
  symbols.clear();
  for_each_char(word, [&](std::string_view ch) {
    const int id = find(ch);
    if (id >= 0) symbols.push_back(id);
    else if (!byte_tokens_.empty())
      for (char c : ch) symbols.push_back(byte_tokens_[uint8_t(c)]);
    else if (unk_ >= 0 && !(fuse_unk_ && !symbols.empty() && symbols.back() == unk_))
      symbols.push_back(unk_);
  });
}

void BpeModel::encode_word(std::string_view word, std::vector<int>& out, Cache& cache) const {
  if (ignore_merges_)
    if (const int id = find(word); id >= 0) return out.push_back(id);
  const size_t word_start = out.size();
  auto emit = [&](std::string_view chunk) {
    // Short chunks repeat (words of a text): merged once per encode call.
    std::vector<int> local;
    const std::vector<int>* ids = &local;
    if (chunk.size() <= 64) {
      auto it = cache.find(chunk);  // a repeated chunk builds no key string
      if (it == cache.end()) {
        it = cache.try_emplace(std::string(chunk)).first;
        merge_chunk(chunk, it->second);
      }
      ids = &it->second;
    } else {
      merge_chunk(chunk, local);
    }
    // Unknown characters on both sides of a cut were one run: fuse_unk gives one unk for it.
    const bool fuse = fuse_unk_ && unk_ >= 0 && out.size() > word_start && out.back() == unk_ && !ids->empty() &&
                      ids->front() == unk_;
    out.insert(out.end(), ids->begin() + (fuse ? 1 : 0), ids->end());
  };
  if (!cuttable_) return emit(word);
  // Cut where no token holds the two characters side by side: no merge can ever join them, so the
  // pieces merge independently (a Llama-2 line, one word without a pre-tokenizer, becomes its words).
  size_t begin = 0, at = 0;
  int64_t prev = -1;
  for_each_char(word, [&](std::string_view ch) {
    const uint32_t cp = code_point(ch);
    if (prev >= 0 && !joins_.contains(uint64_t(prev) << 32 | cp)) {
      emit(word.substr(begin, at - begin));
      begin = at;
    }
    prev = cp;
    at += ch.size();
  });
  emit(word.substr(begin));
}

void BpeModel::merge_chunk(std::string_view word, std::vector<int>& out) const {
  std::vector<int> sym;
  symbols_of(word, sym);
  const int n = int(sym.size());
  std::vector<int> prev(sym.size()), next(sym.size());
  for (int i = 0; i < n; ++i) prev[size_t(i)] = i - 1, next[size_t(i)] = i + 1 < n ? i + 1 : -1;
  // (rank, position, merged id); lowest rank first, then leftmost.
  using Entry = std::tuple<int, int, int>;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> queue;
  auto push = [&](int pos) {
    if (pos < 0 || next[size_t(pos)] < 0) return;
    const auto it = merges_.find(pair_key(sym[size_t(pos)], sym[size_t(next[size_t(pos)])]));
    if (it != merges_.end()) queue.emplace(it->second.rank, pos, it->second.id);
  };
  for (int i = 0; i + 1 < n; ++i) push(i);
  std::vector<bool> gone(sym.size(), false);
  while (!queue.empty()) {
    const auto [rank, pos, merged] = queue.top();
    queue.pop();
    // Stale entries: the left symbol was merged away, or its pair is no longer this merge.
    if (gone[size_t(pos)] || next[size_t(pos)] < 0) continue;
    const int right = next[size_t(pos)];
    const auto it = merges_.find(pair_key(sym[size_t(pos)], sym[size_t(right)]));
    if (it == merges_.end() || it->second.id != merged) continue;
    sym[size_t(pos)] = merged;
    gone[size_t(right)] = true;
    next[size_t(pos)] = next[size_t(right)];
    if (next[size_t(pos)] >= 0) prev[size_t(next[size_t(pos)])] = pos;
    push(prev[size_t(pos)]);
    push(pos);
  }
  for (int i = 0; i < n; ++i)
    if (!gone[size_t(i)]) out.push_back(sym[size_t(i)]);
}

}  // namespace mixq::io
