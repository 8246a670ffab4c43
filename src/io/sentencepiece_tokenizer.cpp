#include <sentencepiece_processor.h>

#include "mixq/core/error.hpp"
#include "mixq/io/mapped_file.hpp"
#include "mixq/io/tokenizer.hpp"
#include "text_util.hpp"

namespace mixq::io {
namespace {

// A protobuf varint at the front of s (consumed); false when truncated or longer than 64 bits.
bool read_varint(std::string_view& s, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (s.empty()) return false;
    const auto b = uint8_t(s.front());
    s.remove_prefix(1);
    v |= uint64_t(b & 0x7F) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

// Calls fn(field number, length-delimited payload or empty) for each field of a protobuf message;
// false when the message is malformed or fn refuses a field.
template <typename Fn>
bool for_each_field(std::string_view msg, Fn&& fn) {
  while (!msg.empty()) {
    uint64_t key, v;
    if (!read_varint(msg, key)) return false;
    std::string_view payload;
    switch (key & 7) {
      case 0: if (!read_varint(msg, v)) return false; break;
      case 1: if (msg.size() < 8) return false; msg.remove_prefix(8); break;
      case 5: if (msg.size() < 4) return false; msg.remove_prefix(4); break;
      case 2:
        if (!read_varint(msg, v) || v > msg.size()) return false;
        payload = msg.substr(0, size_t(v));
        msg.remove_prefix(size_t(v));
        break;
      default: return false;  // groups: ModelProto has none
    }
    if (!fn(key >> 3, payload)) return false;
  }
  return true;
}

// libsentencepiece builds its trie with Darts, which throws — through a path that cannot
// propagate, so the process aborts — on a piece holding a NUL byte. Such a model is refused here,
// before it reaches the library: ModelProto field 1 = pieces, SentencePiece field 1 = the piece.
void check_pieces(std::string_view proto, const std::string& where) {
  int64_t index = 0, bad = -1;
  const bool well_formed = for_each_field(proto, [&](uint64_t field, std::string_view piece_msg) {
    if (field != 1) return true;
    const bool ok = for_each_field(piece_msg, [&](uint64_t f, std::string_view text) {
      return f != 1 || text.find('\0') == std::string_view::npos;
    });
    if (!ok && bad < 0) bad = index;
    ++index;
    return ok;
  });
  if (bad >= 0) fail(where, "SentencePiece model: piece {} is malformed or holds a NUL byte", bad);
  if (!well_formed) fail(where, "not a SentencePiece model: malformed protobuf");
}

}  // namespace

struct SentencePieceTokenizer::Impl {
  sentencepiece::SentencePieceProcessor sp;
};

SentencePieceTokenizer::SentencePieceTokenizer(const std::string& path)
    : SentencePieceTokenizer(read_whole_file(path), path) {}

SentencePieceTokenizer::SentencePieceTokenizer(std::string bytes, const std::string& where)
    : impl_(std::make_unique<Impl>()) {
  file_bytes_ = std::move(bytes);
  check_pieces(file_bytes_, where);
  const auto status = impl_->sp.LoadFromSerializedProto(file_bytes_);
  if (!status.ok()) fail(where, "cannot load SentencePiece model: {}", status.ToString());
  // The model names its BOS/EOS pieces (Llama's "<s>"/"</s>": ids 1 and 2, the defaults).
  if (impl_->sp.bos_id() >= 0) bos_id_ = impl_->sp.bos_id();
  if (impl_->sp.eos_id() >= 0) eos_id_ = impl_->sp.eos_id();
}

SentencePieceTokenizer::~SentencePieceTokenizer() = default;

std::vector<int> SentencePieceTokenizer::encode(std::string_view text, bool bos) const {
  std::vector<int> ids;
  if (bos) ids.push_back(bos_id());
  if (text.empty()) return ids;
  std::vector<int> body;
  const auto status = impl_->sp.Encode(text, &body);
  if (!status.ok()) fail("sentencepiece", "encode failed: {}", status.ToString());
  ids.insert(ids.end(), body.begin(), body.end());
  return ids;
}

std::string SentencePieceTokenizer::decode(int prev, int token) const {
  if (token < 0 || token >= vocab_size()) fail("tokenizer", "token id {} outside vocabulary of {}", token, vocab_size());
  if (impl_->sp.IsByte(token)) {
    unsigned byte = 0;
    std::sscanf(impl_->sp.IdToPiece(token).c_str(), "<0x%02X>", &byte);
    return std::string(1, char(byte));
  }
  if (impl_->sp.IsControl(token)) return impl_->sp.IdToPiece(token);
  std::string piece = impl_->sp.IdToPiece(token);
  // U+2581 ("▁") marks a space in SentencePiece pieces.
  static const std::string kSpace = "\xE2\x96\x81";
  replace_all(piece, kSpace, " ");
  if (prev == bos_id() && !piece.empty() && piece[0] == ' ') piece.erase(0, 1);
  return piece;
}

int SentencePieceTokenizer::vocab_size() const { return impl_->sp.GetPieceSize(); }

std::optional<ScoredVocab> SentencePieceTokenizer::scored_vocab() const {
  const auto& sp = impl_->sp;
  ScoredVocab v;
  v.unk_id = sp.unk_id();
  for (int id = 0; id < sp.GetPieceSize(); ++id) {
    v.tokens.push_back(sp.IdToPiece(id));
    v.scores.push_back(sp.GetScore(id));
    v.types.push_back(sp.IsUnknown(id)  ? ScoredVocab::Unknown
                      : sp.IsControl(id) ? ScoredVocab::Control
                      : sp.IsUnused(id)  ? ScoredVocab::Unused
                      : sp.IsByte(id)    ? ScoredVocab::Byte
                                         : ScoredVocab::Normal);
  }
  return v;
}

}  // namespace mixq::io
