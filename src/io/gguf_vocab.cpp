// GGUF tokenizer keys (llama.cpp's gguf-py constants and llama-vocab.cpp): tokenizer.ggml.model,
// .pre, .tokens, .scores, .token_type, .merges, .bos/eos/unknown_token_id, .add_bos_token,
// .add_space_prefix.
#include "mixq/io/gguf_vocab.hpp"

#include <nlohmann/json.hpp>

#include "mixq/core/error.hpp"

namespace mixq::io {
namespace {

using json = nlohmann::json;

// The byte-level BPE pre-tokenizers llama.cpp knows by name: the Split regex (then ByteLevel
// without its own regex), the normalizer, and whether a whole word found in the vocabulary skips
// the merges (tokenizers' ignore_merges).
struct PreTokenizerRow {
  const char* name;
  const char* regex;
  bool nfc;
  bool ignore_merges;
};
constexpr PreTokenizerRow kPreTokenizers[] = {
    {"llama-bpe",
     R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
     false, true},
    {"qwen2",
     R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
     true, false},
};

std::string known_pre_names() {
  std::string s;
  for (const auto& r : kPreTokenizers) s += std::string(s.empty() ? "" : ", ") + r.name;
  return s;
}

// The Split regex of a Sequence[Split, ByteLevel(use_regex false)] pre-tokenizer, or "".
std::string split_regex(const json& pre) {
  if (!pre.is_object() || pre.value("type", "") != "Sequence") return "";
  const json& seq = pre.value("pretokenizers", json::array());
  if (seq.size() != 2 || seq[0].value("type", "") != "Split" || seq[1].value("type", "") != "ByteLevel" ||
      seq[1].value("use_regex", true))
    return "";
  const json& pattern = seq[0].value("pattern", json::object());
  return pattern.contains("Regex") && pattern["Regex"].is_string() ? pattern["Regex"].get<std::string>() : "";
}

GgufVocab gpt2_vocab_of(const Tokenizer& tok, const std::string& where) {
  const std::string& bundle = tok.file_bytes();
  const json tj = json::parse(bundle.substr(0, bundle.find('\0')), nullptr, false);
  const json& model = tj.is_object() ? tj.value("model", json()) : json();
  if (!model.is_object() || model.value("type", "") != "BPE" || model.value("byte_fallback", false))
    fail(where, "GGUF export writes tokenizer.json vocabularies that are byte-level BPE (Llama-3, Qwen); this one is not");
  const std::string regex = split_regex(tj.value("pre_tokenizer", json()));
  const json& norm = tj.value("normalizer", json());
  const PreTokenizerRow* row = nullptr;
  for (const auto& r : kPreTokenizers)
    if (regex == r.regex && (r.nfc ? norm.is_object() && norm.value("type", "") == "NFC" : norm.is_null())) row = &r;
  if (!row)
    fail(where, "GGUF export: the tokenizer.json's pre-tokenizer is none llama.cpp names (mixq writes {})", known_pre_names());
  GgufVocab v;
  v.model = "gpt2";
  v.pre = row->name;
  auto put = [&](size_t id, const std::string& text, int32_t type) {
    if (id >= size_t(LlamaConfig::kMaxVocab)) fail(where, "token id {} is past any vocabulary", id);
    if (v.tokens.size() <= id) {
      for (size_t i = v.tokens.size(); i <= id; ++i) v.tokens.push_back("[PAD" + std::to_string(i) + "]");
      v.types.resize(id + 1, ScoredVocab::Unused);
    }
    v.tokens[id] = text;
    v.types[id] = type;
  };
  // (Locals: a range-for over a temporary's items() would dangle.)
  const json vocab = model.value("vocab", json::object()), added = tj.value("added_tokens", json::array()),
             merges = model.value("merges", json::array());
  for (const auto& [text, id] : vocab.items()) put(id.get<size_t>(), text, ScoredVocab::Normal);
  for (const json& a : added)
    put(a.at("id").get<size_t>(), a.at("content").get<std::string>(),
        a.value("special", false) ? ScoredVocab::Control : ScoredVocab::UserDefined);
  for (const json& m : merges)
    v.merges.push_back(m.is_string() ? m.get<std::string>() : m.at(0).get<std::string>() + " " + m.at(1).get<std::string>());
  v.bos = tok.bos_id();
  v.eos = tok.eos_id();
  v.add_bos = tok.bos_id() >= 0 && !tok.encode("", true).empty();
  v.add_space_prefix = false;
  return v;
}

// tokenizer.json (and tokenizer_config.json) for a gpt2 vocabulary, as HfTokenizer reads them.
std::unique_ptr<Tokenizer> gpt2_tokenizer(const GgufVocab& v, const std::string& where) {
  const PreTokenizerRow* row = nullptr;
  for (const auto& r : kPreTokenizers)
    if (v.pre == r.name) row = &r;
  if (!row)
    fail(where, "GGUF tokenizer.ggml.pre '{}' is not rebuilt by mixq (it knows {}); pass the model's tokenizer.json with --tokenizer",
         v.pre, known_pre_names());
  json vocab = json::object(), added = json::array();
  for (size_t id = 0; id < v.tokens.size(); ++id) {
    const int32_t type = v.types[id];
    if (type == ScoredVocab::Unused) continue;  // padding: no token has this id
    if (type == ScoredVocab::Control || type == ScoredVocab::UserDefined)
      added.push_back({{"id", id}, {"content", v.tokens[id]}, {"single_word", false}, {"lstrip", false}, {"rstrip", false},
                       {"normalized", false}, {"special", type == ScoredVocab::Control}});
    else
      vocab[v.tokens[id]] = id;
  }
  json merges = json::array();
  for (const auto& m : v.merges) merges.push_back(m);
  json tj = {
      {"version", "1.0"},
      {"added_tokens", added},
      {"normalizer", row->nfc ? json{{"type", "NFC"}} : json()},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"}, {"pattern", {{"Regex", row->regex}}}, {"behavior", "Isolated"}, {"invert", false}},
          {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}}}}}},
      {"post_processor", json()},
      {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}}},
      {"model",
       {{"type", "BPE"}, {"dropout", json()}, {"unk_token", json()}, {"continuing_subword_prefix", json()},
        {"end_of_word_suffix", json()}, {"fuse_unk", false}, {"byte_fallback", false}, {"ignore_merges", row->ignore_merges},
        {"vocab", vocab}, {"merges", merges}}},
  };
  if (v.add_bos && v.bos >= 0) {
    const std::string& b = v.tokens[size_t(v.bos)];
    tj["post_processor"] = {{"type", "TemplateProcessing"},
                            {"single", {{{"SpecialToken", {{"id", b}, {"type_id", 0}}}}, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
                            {"pair", json::array()},
                            {"special_tokens", {{b, {{"id", b}, {"ids", {v.bos}}, {"tokens", {b}}}}}}};
  }
  const json config = {{"bos_token", v.bos >= 0 ? json(v.tokens[size_t(v.bos)]) : json()},
                       {"eos_token", v.eos >= 0 ? json(v.tokens[size_t(v.eos)]) : json()}};
  return tokenizer_from_bytes("hf-tokenizer", tj.dump() + '\0' + config.dump(), where);
}

}  // namespace

GgufVocab gguf_vocab_of(const Tokenizer& tok, const std::string& where) {
  if (std::string(tok.kind()) == "hf-tokenizer") {
    try {
      return gpt2_vocab_of(tok, where);
    } catch (const json::exception& e) {
      fail(where, "tokenizer.json cannot be written as GGUF keys: {}", e.what());
    }
  }
  auto scored = tok.scored_vocab();
  if (!scored) fail(where, "its {} tokenizer has no GGUF form", tok.kind());
  GgufVocab v;
  v.model = "llama";
  v.tokens = std::move(scored->tokens);
  v.scores = std::move(scored->scores);
  v.types = std::move(scored->types);
  v.unk = scored->unk_id;
  v.bos = tok.bos_id();
  v.eos = tok.eos_id();
  v.add_bos = tok.bos_id() >= 0;
  return v;
}

void write_gguf_vocab(GgufWriter& w, GgufVocab v, int rows) {
  for (int i = int(v.tokens.size()); i < rows; ++i) {
    v.tokens.push_back("[PAD" + std::to_string(i) + "]");
    v.types.push_back(ScoredVocab::Unused);
    if (!v.scores.empty()) v.scores.push_back(0.f);
  }
  w.add_string("tokenizer.ggml.model", v.model);
  if (!v.pre.empty()) w.add_string("tokenizer.ggml.pre", v.pre);
  w.add_strings("tokenizer.ggml.tokens", v.tokens);
  if (!v.scores.empty()) w.add_f32s("tokenizer.ggml.scores", v.scores);
  w.add_i32s("tokenizer.ggml.token_type", v.types);
  if (!v.merges.empty()) w.add_strings("tokenizer.ggml.merges", v.merges);
  if (v.bos >= 0) w.add_u32("tokenizer.ggml.bos_token_id", uint32_t(v.bos));
  if (v.eos >= 0) w.add_u32("tokenizer.ggml.eos_token_id", uint32_t(v.eos));
  if (v.unk >= 0) w.add_u32("tokenizer.ggml.unknown_token_id", uint32_t(v.unk));
  w.add_bool("tokenizer.ggml.add_bos_token", v.add_bos);
  w.add_bool("tokenizer.ggml.add_eos_token", false);
  if (v.model == "llama") w.add_bool("tokenizer.ggml.add_space_prefix", v.add_space_prefix);
}

GgufVocab read_gguf_vocab(const GgufFile& f) {
  GgufVocab v;
  const auto model = f.get_string("tokenizer.ggml.model");
  if (!model) fail(f.path(), "GGUF file holds no tokenizer (no tokenizer.ggml.model); pass --tokenizer");
  v.model = *model;
  if (v.model != "llama" && v.model != "gpt2")
    fail(f.path(), "GGUF tokenizer '{}' is not rebuilt by mixq (it rebuilds 'llama' and 'gpt2'); pass the model's tokenizer "
         "with --tokenizer", v.model);
  v.pre = f.get_string("tokenizer.ggml.pre").value_or("");
  v.tokens = f.get_strings("tokenizer.ggml.tokens").value_or(std::vector<std::string>{});
  const size_t n = v.tokens.size();
  if (n == 0) fail(f.path(), "GGUF key 'tokenizer.ggml.tokens' is missing or empty");
  if (v.model == "llama") v.scores = f.get_floats("tokenizer.ggml.scores").value_or(std::vector<float>(n, 0.f));
  const auto types = f.get_ints("tokenizer.ggml.token_type").value_or(std::vector<int64_t>(n, ScoredVocab::Normal));
  if ((v.model == "llama" && v.scores.size() != n) || types.size() != n)
    fail(f.path(), "GGUF tokenizer has {} tokens, {} scores and {} token types", n, v.scores.size(), types.size());
  for (size_t i = 0; i < n; ++i) {
    if (types[i] < ScoredVocab::Normal || types[i] > ScoredVocab::Byte)
      fail(f.path(), "GGUF token {} has unknown token type {}", i, types[i]);
    v.types.push_back(int32_t(types[i]));
  }
  v.merges = f.get_strings("tokenizer.ggml.merges").value_or(std::vector<std::string>{});
  const auto id_key = [&](const char* key, int64_t fallback) {
    const int64_t id = f.get_int(key).value_or(fallback);
    if (id >= int64_t(n)) fail(f.path(), "GGUF key '{}' is token {}, past the {} tokens", key, id, n);
    return int(id);
  };
  const bool llama = v.model == "llama";
  v.unk = id_key("tokenizer.ggml.unknown_token_id", llama ? 0 : -1);
  v.bos = id_key("tokenizer.ggml.bos_token_id", llama ? 1 : -1);
  v.eos = id_key("tokenizer.ggml.eos_token_id", llama ? 2 : -1);
  v.add_bos = f.get_bool("tokenizer.ggml.add_bos_token").value_or(llama);
  v.add_space_prefix = f.get_bool("tokenizer.ggml.add_space_prefix").value_or(llama);
  return v;
}

std::unique_ptr<Tokenizer> gguf_vocab_tokenizer(const GgufVocab& v, const std::string& where) {
  if (v.model == "gpt2") {
    try {
      return gpt2_tokenizer(v, where);
    } catch (const json::exception& e) {  // e.g. a token that is not UTF-8
      fail(where, "GGUF gpt2 vocabulary cannot be rebuilt as tokenizer.json: {}", e.what());
    }
  }
  const ScoredVocab scored{v.tokens, v.scores, v.types, v.unk};
  return tokenizer_from_bytes("sentencepiece",
                              sentencepiece_model_from_vocab(scored, v.add_bos ? v.bos : -1, v.eos, v.add_space_prefix, where),
                              where);
}

}  // namespace mixq::io
