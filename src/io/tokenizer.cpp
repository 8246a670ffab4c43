#include "mixq/io/tokenizer.hpp"

#include "mixq/core/error.hpp"
#include "mixq/io/gguf_vocab.hpp"
#include "mixq/io/hf_tokenizer.hpp"
#include "text_util.hpp"

namespace mixq::io {
namespace {

// One row per tokenizer kind: the name a model file records, the file suffix it is read from
// (empty: anything else), the name a model directory gives its file, and how it is rebuilt from
// its bytes.
struct TokenizerKind {
  const char* name;
  const char* suffix;
  const char* dir_file;
  std::unique_ptr<Tokenizer> (*from_bytes)(std::string bytes, const std::string& where);
  std::unique_ptr<Tokenizer> (*from_file)(const std::string& path);
};

template <typename T>
std::unique_ptr<Tokenizer> make_from_bytes(std::string bytes, const std::string& where) {
  return std::make_unique<T>(std::move(bytes), where);
}
template <typename T>
std::unique_ptr<Tokenizer> make_from_file(const std::string& path) {
  return std::make_unique<T>(path);
}

const TokenizerKind kKinds[] = {
    {"hf-tokenizer", ".json", "tokenizer.json", make_from_bytes<HfTokenizer>, make_from_file<HfTokenizer>},
    {"sentencepiece", ".model", "tokenizer.model", make_from_bytes<SentencePieceTokenizer>,
     make_from_file<SentencePieceTokenizer>},
    {"llama2c", "", "tokenizer.bin", make_from_bytes<Llama2cTokenizer>, make_from_file<Llama2cTokenizer>},
};

}  // namespace

std::vector<Tokenizer::DirFile> Tokenizer::dir_files() const {
  for (const auto& k : kKinds)
    if (std::string_view(kind()) == k.name) return {{k.dir_file, file_bytes()}};
  fail(kind(), "tokenizer kind has no row in the table");
}

std::vector<std::string> tokenizer_dir_file_names() {
  std::vector<std::string> out = {"tokenizer_config.json", "tok512.bin"};  // beside tokenizer.json; llama2.c's name
  for (const auto& k : kKinds) out.push_back(k.dir_file);
  return out;
}

std::string Tokenizer::decode_all(const std::vector<int>& ids) const {
  std::string out;
  int prev = -1;
  for (size_t i = 0; i < ids.size(); ++i) {
    // A leading BOS only marks the sequence start; one inside the text was written there.
    if (i > 0 || ids[i] != bos_id()) out += decode(prev, ids[i]);
    prev = ids[i];
  }
  return out;
}

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path) {
  // A GGUF model's tokenizer is rebuilt from its keys into one of the kinds below.
  if (path.ends_with(".gguf")) return gguf_vocab_tokenizer(read_gguf_vocab(GgufFile(path)), path);
  for (const auto& k : kKinds)
    if (!*k.suffix || path.ends_with(k.suffix)) return k.from_file(path);
  fail(path, "no tokenizer kind reads this file");
}

std::unique_ptr<Tokenizer> tokenizer_from_bytes(const std::string& kind, std::string bytes, const std::string& where) {
  for (const auto& k : kKinds)
    if (kind == k.name) return k.from_bytes(std::move(bytes), where);
  fail(where, "unknown tokenizer kind '{}' (known: {})", kind, row_names(kKinds));
}

}  // namespace mixq::io
