// A SentencePiece ModelProto written by hand (libsentencepiece ships no proto headers): the few
// fields a BPE model with byte fallback needs (sentencepiece_model.proto's numbering).
#include <cstring>
#include <set>

#include "mixq/core/error.hpp"
#include "mixq/io/tokenizer.hpp"

namespace mixq::io {
namespace {

void put_varint(std::string& out, uint64_t v) {
  do {
    out += char((v & 0x7F) | (v >= 0x80 ? 0x80 : 0));
    v >>= 7;
  } while (v);
}
void put_key(std::string& out, int field, int wire) { put_varint(out, uint64_t(field) << 3 | uint64_t(wire)); }
void put_int(std::string& out, int field, int64_t v) {  // int32/bool/enum: negative as 10 bytes
  put_key(out, field, 0);
  put_varint(out, uint64_t(v));
}
void put_bytes(std::string& out, int field, const std::string& b) {
  put_key(out, field, 2);
  put_varint(out, b.size());
  out += b;
}
void put_float(std::string& out, int field, float v) {
  put_key(out, field, 5);
  char b[4];
  std::memcpy(b, &v, 4);
  out.append(b, 4);
}

}  // namespace

std::string sentencepiece_model_from_vocab(const ScoredVocab& v, int bos_id, int eos_id, bool add_dummy_prefix,
                                           const std::string& where) {
  const size_t n = v.tokens.size();
  if (v.scores.size() != n || v.types.size() != n)
    fail(where, "vocabulary of {} tokens has {} scores and {} types", n, v.scores.size(), v.types.size());
  if (v.unk_id < 0 || size_t(v.unk_id) >= n) fail(where, "vocabulary has no unknown token (SentencePiece needs one)");
  std::string proto;
  std::set<std::string> seen;
  bool has_bytes = false;
  for (size_t id = 0; id < n; ++id) {
    const int32_t type = int(id) == v.unk_id ? ScoredVocab::Unknown : v.types[id];
    if (type < ScoredVocab::Normal || type > ScoredVocab::Byte) fail(where, "token {} has unknown type {}", id, type);
    // SentencePiece needs every piece non-empty and distinct; a control or unused token is never
    // matched in text, so a placeholder keeps its id without changing any encoding.
    std::string piece = v.tokens[id];
    const bool inert = type == ScoredVocab::Control || type == ScoredVocab::Unused;
    if (piece.empty() || (inert && seen.count(piece))) piece = "<mixq:" + std::to_string(id) + ">";
    if (piece.find('\0') != std::string::npos) fail(where, "token {} holds a NUL byte", id);
    if (!seen.insert(piece).second) fail(where, "token {} ('{}') appears twice in the vocabulary", id, piece);
    has_bytes |= type == ScoredVocab::Byte;
    std::string msg;
    put_bytes(msg, 1, piece);
    put_float(msg, 2, v.scores[id]);
    put_int(msg, 3, type);
    put_bytes(proto, 1, msg);
  }
  const auto piece_of = [&](int id) { return id >= 0 && size_t(id) < n ? v.tokens[size_t(id)] : std::string(); };
  std::string trainer;
  put_int(trainer, 3, 2);  // model_type BPE
  put_int(trainer, 4, int64_t(n));
  put_int(trainer, 35, has_bytes);  // byte_fallback
  put_int(trainer, 40, v.unk_id);
  put_int(trainer, 41, bos_id);
  put_int(trainer, 42, eos_id);
  put_int(trainer, 43, -1);  // pad_id
  // The processor finds BOS/EOS by these pieces' names.
  put_bytes(trainer, 45, piece_of(v.unk_id));
  if (!piece_of(bos_id).empty()) put_bytes(trainer, 46, piece_of(bos_id));
  if (!piece_of(eos_id).empty()) put_bytes(trainer, 47, piece_of(eos_id));
  put_bytes(proto, 2, trainer);
  std::string normalizer;
  put_bytes(normalizer, 1, "identity");
  put_int(normalizer, 3, add_dummy_prefix);
  put_int(normalizer, 4, 0);  // remove_extra_whitespaces: off, as Llama's models have it
  put_int(normalizer, 5, 1);  // escape_whitespaces: spaces become ▁
  put_bytes(proto, 3, normalizer);
  return proto;
}

}  // namespace mixq::io
