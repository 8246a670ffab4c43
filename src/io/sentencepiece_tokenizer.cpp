#include <sentencepiece_processor.h>

#include "mixq/core/error.hpp"
#include "mixq/io/mapped_file.hpp"
#include "mixq/io/tokenizer.hpp"

namespace mixq::io {

struct SentencePieceTokenizer::Impl {
  sentencepiece::SentencePieceProcessor sp;
};

SentencePieceTokenizer::SentencePieceTokenizer(const std::string& path)
    : SentencePieceTokenizer(read_whole_file(path), path) {}

SentencePieceTokenizer::SentencePieceTokenizer(std::string bytes, const std::string& where)
    : impl_(std::make_unique<Impl>()) {
  file_bytes_ = std::move(bytes);
  const auto status = impl_->sp.LoadFromSerializedProto(file_bytes_);
  if (!status.ok()) fail(where, "cannot load SentencePiece model: {}", status.ToString());
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
  for (size_t p; (p = piece.find(kSpace)) != std::string::npos;) piece.replace(p, kSpace.size(), " ");
  if (prev == bos_id() && !piece.empty() && piece[0] == ' ') piece.erase(0, 1);
  return piece;
}

int SentencePieceTokenizer::vocab_size() const { return impl_->sp.GetPieceSize(); }

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path) {
  if (path.size() >= 6 && path.compare(path.size() - 6, 6, ".model") == 0)
    return std::make_unique<SentencePieceTokenizer>(path);
  return std::make_unique<Llama2cTokenizer>(path);
}

std::unique_ptr<Tokenizer> tokenizer_from_bytes(const std::string& kind, std::string bytes, const std::string& where) {
  if (kind == "sentencepiece") return std::make_unique<SentencePieceTokenizer>(std::move(bytes), where);
  if (kind == "llama2c") return std::make_unique<Llama2cTokenizer>(std::move(bytes), where);
  fail(where, "unknown tokenizer kind '{}' (known: llama2c, sentencepiece)", kind);
}

}  // namespace mixq::io
