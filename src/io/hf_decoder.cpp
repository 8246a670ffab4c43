#include "hf_decoder.hpp"

#include "hf_pre_tokenizer.hpp"
#include "mixq/core/error.hpp"
#include "text_util.hpp"

namespace mixq::io {
namespace {

using json = nlohmann::json;

Decoder byte_level(const json&, const std::string&) {
  return [](std::string& t, bool) {
    // Every character must be a byte-level one; a token that is not (an added token with other
    // characters) stays as it is, as the library does.
    std::string bytes;
    bool all_byte_level = true;
    for_each_char(t, [&](std::string_view ch) {
      const int b = byte_level_byte(ch);
      all_byte_level &= b >= 0;
      bytes += char(b);
    });
    if (all_byte_level) t = std::move(bytes);
  };
}

Decoder replace(const json& node, const std::string& where) {
  const auto& pattern = node.at("pattern");
  if (!pattern.contains("String")) fail(where, "only {{\"String\": ...}} patterns are supported");
  const std::string from = pattern.at("String"), to = node.at("content");
  return [from, to](std::string& t, bool) { replace_all(t, from, to); };
}

Decoder byte_fallback(const json&, const std::string&) {
  return [](std::string& t, bool) {
    if (const int b = byte_token_value(t); b >= 0) t = std::string(1, char(b));
  };
}

// The fused text is the tokens' concatenation: nothing to do token by token.
Decoder fuse(const json&, const std::string&) { return [](std::string&, bool) {}; }

Decoder strip(const json& node, const std::string& where) {
  const std::string content = node.at("content");
  const int start = node.value("start", 0);
  if (node.value("stop", 0) != 0) fail(where, "stop > 0 is not supported (it needs the whole text)");
  return [content, start](std::string& t, bool first) {
    if (!first) return;
    for (int i = 0; i < start && t.starts_with(content); ++i) t.erase(0, content.size());
  };
}

Decoder metaspace(const json& node, const std::string& where) {
  const std::string replacement = node.value("replacement", std::string("\xE2\x96\x81"));
  const std::string scheme = metaspace_prepend_scheme(node, where);
  return [replacement, scheme](std::string& t, bool first) {
    replace_all(t, replacement, " ");
    if (first && scheme != "never" && t.starts_with(' ')) t.erase(0, 1);
  };
}

Decoder sequence(const json& node, const std::string& where) {
  std::vector<Decoder> steps;
  for (const auto& n : node.at("decoders")) steps.push_back(make_decoder(n, where));
  return [steps](std::string& t, bool first) {
    for (const auto& step : steps) step(t, first);
  };
}

struct DecoderType {
  const char* name;
  Decoder (*make)(const json&, const std::string&);
};

const DecoderType kDecoders[] = {{"ByteLevel", byte_level}, {"Replace", replace},   {"ByteFallback", byte_fallback},
                                 {"Fuse", fuse},            {"Strip", strip},       {"Metaspace", metaspace},
                                 {"Sequence", sequence}};

}  // namespace

Decoder make_decoder(const json& node, const std::string& where) {
  if (node.is_null()) return [](std::string&, bool) {};
  return make_component(kDecoders, node, where, "decoder");
}

}  // namespace mixq::io
