#include "mixq/io/hf_tokenizer.hpp"

#include <array>
#include <filesystem>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "bpe_model.hpp"
#include "hf_decoder.hpp"
#include "hf_normalizer.hpp"
#include "hf_pre_tokenizer.hpp"
#include "mixq/core/error.hpp"
#include "mixq/io/mapped_file.hpp"
#include "text_util.hpp"

namespace mixq::io {
namespace {

using json = nlohmann::json;

struct AddedToken {
  std::string content;
  int id;
  bool lstrip, rstrip;
};

// The special tokens a post-processor puts around a single sequence when special tokens are added.
struct Template {
  std::vector<int> prefix, suffix;
};

Template template_processing(const json& node, const std::string& where) {
  Template t;
  bool after = false;
  for (const auto& item : node.at("single")) {
    if (item.contains("Sequence")) {
      after = true;
    } else if (item.contains("SpecialToken")) {
      const std::string name = item["SpecialToken"].at("id");
      const auto& special = node.at("special_tokens");
      if (!special.contains(name)) fail(where, "TemplateProcessing names special token '{}' it does not define", name);
      for (const auto& id : special[name].at("ids")) (after ? t.suffix : t.prefix).push_back(json_token_id(id, where));
    } else {
      fail(where, "TemplateProcessing item {} is neither a Sequence nor a SpecialToken", item.dump());
    }
  }
  return t;
}

Template post_processor(const json& node, const std::string& where) {
  if (node.is_null()) return {};
  const std::string type = node.value("type", "");
  if (type == "ByteLevel") return {};  // offsets only
  if (type == "TemplateProcessing") return template_processing(node, where);
  if (type == "Sequence") {
    // Each processor wraps what the previous produced.
    Template t;
    for (const auto& p : node.at("processors")) {
      const Template inner = post_processor(p, where);
      t.prefix.insert(t.prefix.begin(), inner.prefix.begin(), inner.prefix.end());
      t.suffix.insert(t.suffix.end(), inner.suffix.begin(), inner.suffix.end());
    }
    return t;
  }
  fail(where, "post_processor type '{}' is not supported (supported: ByteLevel, TemplateProcessing, Sequence)", type);
}

// tokenizer_config.json's "bos_token"/"eos_token": a string, {"content": ...}, or null.
std::string config_token(const json& config, const char* key) {
  if (!config.is_object() || !config.contains(key)) return {};
  const auto& v = config[key];
  if (v.is_string()) return v;
  if (v.is_object() && v.contains("content") && v["content"].is_string()) return v["content"];
  return {};
}

// "chat_template": one template, or a list of named ones (the "default" is used), or none.
std::string chat_template_of(const json& config, const std::string& where) {
  if (!config.is_object() || !config.contains("chat_template") || config["chat_template"].is_null()) return {};
  const json& t = config["chat_template"];
  if (t.is_string()) return t;
  if (t.is_array())
    for (const auto& named : t)
      if (named.is_object() && named.value("name", "") == "default" && named.contains("template") && named["template"].is_string())
        return named["template"];
  fail(where, "tokenizer_config.json: chat_template is neither a string nor a list holding a \"default\" template");
}

}  // namespace

struct HfTokenizer::Impl {
  std::unique_ptr<BpeModel> bpe;
  Normalizer normalizer;
  PreTokenizer pre_tokenizer;
  Decoder decoder;
  Template specials;
  std::vector<AddedToken> added;         // longest first: leftmost-longest matching
  std::array<bool, 256> starts_added{};  // first bytes of added tokens
  std::vector<std::string> pieces;       // id → token string (vocabulary or added content)

  void read_added(const json& tokens, const std::string& where);
  void encode_text(std::string_view text, bool at_start, std::vector<int>& ids,
                   BpeModel::Cache& cache) const;
  // The first added token at or after `from`: its [begin, end) (whitespace included for
  // lstrip/rstrip) and index, or begin == npos.
  std::tuple<size_t, size_t, size_t> next_added(std::string_view text, size_t from) const;
  std::string decode(int token, bool first) const {
    if (token < 0) fail("tokenizer", "token id {} is negative", token);
    if (size_t(token) >= pieces.size()) return {};
    std::string t = pieces[size_t(token)];
    decoder(t, first);
    return t;
  }
};

void HfTokenizer::Impl::read_added(const json& tokens, const std::string& where) {
  for (const auto& t : tokens) {
    AddedToken a{t.at("content"), json_token_id(t.at("id"), where), t.value("lstrip", false), t.value("rstrip", false)};
    if (a.content.empty()) fail(where, "added token {} is empty", a.id);
    if (t.value("single_word", false)) fail(where, "added token '{}': single_word is not supported", a.content);
    if (t.value("normalized", false) && normalizer)
      fail(where, "added token '{}': normalized tokens with a normalizer are not supported", a.content);
    if (size_t(a.id) >= pieces.size()) pieces.resize(size_t(a.id) + 1);
    pieces[size_t(a.id)] = a.content;
    starts_added[uint8_t(a.content[0])] = true;
    added.push_back(std::move(a));
  }
  std::stable_sort(added.begin(), added.end(), [](const auto& x, const auto& y) { return x.content.size() > y.content.size(); });
}

std::tuple<size_t, size_t, size_t> HfTokenizer::Impl::next_added(std::string_view text, size_t from) const {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; };
  for (size_t i = from; i < text.size(); ++i) {
    if (!starts_added[uint8_t(text[i])]) continue;
    for (size_t k = 0; k < added.size(); ++k) {
      if (text.compare(i, added[k].content.size(), added[k].content) != 0) continue;
      size_t b = i, e = i + added[k].content.size();
      if (added[k].lstrip)
        while (b > from && space(text[b - 1])) --b;
      if (added[k].rstrip)
        while (e < text.size() && space(text[e])) ++e;
      return {b, e, k};
    }
  }
  return {std::string_view::npos, 0, 0};
}

void HfTokenizer::Impl::encode_text(std::string_view text, bool at_start, std::vector<int>& ids,
                                    BpeModel::Cache& cache) const {
  std::vector<TextPiece> words{{std::string(text), at_start}};
  if (normalizer) normalizer(words[0].text);
  if (words[0].text.empty()) return;
  if (pre_tokenizer) pre_tokenizer(words);
  for (const auto& w : words) bpe->encode_word(w.text, ids, cache);
}

HfTokenizer::HfTokenizer(const std::string& path)
    : HfTokenizer([&] {
        std::string bundle = read_whole_file(path);
        const auto config = std::filesystem::path(path).parent_path() / "tokenizer_config.json";
        bundle += '\0';
        if (std::filesystem::is_regular_file(config)) bundle += read_whole_file(config.string());
        return bundle;
      }(), path) {}

std::vector<Tokenizer::DirFile> HfTokenizer::dir_files() const {
  const size_t nul = file_bytes_.find('\0');
  std::vector<DirFile> out = {{"tokenizer.json", file_bytes_.substr(0, nul)}};
  if (nul != std::string::npos && nul + 1 < file_bytes_.size())
    out.push_back({"tokenizer_config.json", file_bytes_.substr(nul + 1)});
  return out;
}

HfTokenizer::HfTokenizer(std::string bundle, const std::string& where) {
  file_bytes_ = std::move(bundle);
  const size_t nul = file_bytes_.find('\0');
  const std::string_view body = std::string_view(file_bytes_).substr(0, nul);
  const std::string_view config_text =
      nul == std::string::npos ? std::string_view() : std::string_view(file_bytes_).substr(nul + 1);
  auto impl = std::make_shared<Impl>();
  try {
    const json tj = json::parse(body);
    if (!tj.is_object() || !tj.contains("model")) fail(where, "not a tokenizer.json: no \"model\"");
    impl->bpe = std::make_unique<BpeModel>(tj["model"], where + ": model");
    impl->pieces.resize(size_t(impl->bpe->size()));
    for (int id = 0; id < impl->bpe->size(); ++id) impl->pieces[size_t(id)] = impl->bpe->piece(id);
    impl->normalizer = make_normalizer(tj.value("normalizer", json()), where);
    impl->pre_tokenizer = make_pre_tokenizer(tj.value("pre_tokenizer", json()), where);
    impl->decoder = make_decoder(tj.value("decoder", json()), where);
    impl->specials = post_processor(tj.value("post_processor", json()), where + ": post_processor");
    impl->read_added(tj.value("added_tokens", json::array()), where + ": added_tokens");
    for (const auto* ids : {&impl->specials.prefix, &impl->specials.suffix})
      for (int id : *ids)
        if (id < 0 || size_t(id) >= impl->pieces.size())
          fail(where, "post_processor adds token id {} outside the vocabulary", id);
    const json config = config_text.empty() ? json() : json::parse(config_text);
    auto id_of = [&](const char* key) {
      const std::string name = config_token(config, key);
      if (name.empty()) return -1;
      for (const auto& a : impl->added)
        if (a.content == name) return a.id;
      if (const int id = impl->bpe->find(name); id >= 0) return id;
      fail(where, "tokenizer_config.json: {} '{}' is not a token", key, name);
    };
    bos_id_ = id_of("bos_token");
    eos_id_ = id_of("eos_token");
    bos_text_ = config_token(config, "bos_token");
    eos_text_ = config_token(config, "eos_token");
    chat_template_ = chat_template_of(config, where);
  } catch (const json::exception& e) {
    fail(where, "malformed tokenizer.json or tokenizer_config.json: {}", e.what());
  }
  impl_ = std::move(impl);
}

HfTokenizer::~HfTokenizer() = default;

int HfTokenizer::vocab_size() const { return int(impl_->pieces.size()); }

std::vector<int> HfTokenizer::encode(std::string_view text, bool bos) const {
  if (const size_t bad = invalid_utf8_offset(text); bad != std::string_view::npos)
    fail("text", "not valid UTF-8 at byte {}", bad);
  std::vector<int> ids;
  if (bos) ids = impl_->specials.prefix;
  BpeModel::Cache cache;
  // Added tokens are found in the raw text first and never split; the text between them is
  // normalized, pre-tokenized and merged piece by piece.
  for (size_t pos = 0; pos < text.size();) {
    const auto [b, e, k] = impl_->next_added(text, pos);
    const size_t stop = std::min(b, text.size());
    if (stop > pos) impl_->encode_text(text.substr(pos, stop - pos), pos == 0, ids, cache);
    if (b == std::string_view::npos) break;
    ids.push_back(impl_->added[k].id);
    pos = e;
  }
  if (bos) ids.insert(ids.end(), impl_->specials.suffix.begin(), impl_->specials.suffix.end());
  return ids;
}

std::string HfTokenizer::decode(int prev, int token) const { return impl_->decode(token, prev < 0 || prev == bos_id_); }

std::string HfTokenizer::decode_all(const std::vector<int>& ids) const {
  std::string out;
  const size_t begin = !ids.empty() && ids[0] == bos_id_ ? 1 : 0;
  for (size_t i = begin; i < ids.size(); ++i) {
    out += impl_->decode(ids[i], i == begin);
  }
  return out;
}

}  // namespace mixq::io
