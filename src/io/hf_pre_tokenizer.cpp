#include "hf_pre_tokenizer.hpp"

#include <array>
#include <memory>

#include "mixq/core/error.hpp"
#include "text_util.hpp"
#include "unicode_regex.hpp"

namespace mixq::io {
namespace {

using json = nlohmann::json;

struct Range {
  size_t begin, end;
  bool is_match;
};

// The pieces of `text` alternating between matches of `regex` and the text between them.
std::vector<Range> match_ranges(const UnicodeRegex& regex, std::string_view text) {
  std::vector<Range> ranges;
  size_t last = 0;
  regex.for_each_match(text, [&](size_t b, size_t e) {
    if (b > last) ranges.push_back({last, b, false});
    ranges.push_back({b, e, true});
    last = e;
  });
  if (last < text.size()) ranges.push_back({last, text.size(), false});
  return ranges;
}

// Extends the last range of `acc` to cover r (or starts it), as the tokenizers library merges
// delimiters into their neighbours.
void extend_last(std::vector<Range>& acc, const Range& r, bool backwards) {
  if (acc.empty()) return acc.push_back(r);
  if (backwards) acc.back().begin = r.begin;
  else acc.back().end = r.end;
}

enum class Behavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

Behavior parse_behavior(const std::string& name, const std::string& where) {
  static const std::pair<const char*, Behavior> kBehaviors[] = {
      {"Removed", Behavior::Removed}, {"Isolated", Behavior::Isolated},
      {"MergedWithPrevious", Behavior::MergedWithPrevious}, {"MergedWithNext", Behavior::MergedWithNext},
      {"Contiguous", Behavior::Contiguous}};
  for (const auto& [n, b] : kBehaviors)
    if (name == n) return b;
  fail(where, "split behavior '{}' is not supported", name);
}

// The ranges that become pieces, following the tokenizers library's SplitDelimiterBehavior.
std::vector<Range> apply_behavior(const std::vector<Range>& ranges, Behavior behavior) {
  std::vector<Range> acc;
  bool previous_match = false;
  switch (behavior) {
    case Behavior::Removed:
      for (const auto& r : ranges)
        if (!r.is_match) acc.push_back(r);
      return acc;
    case Behavior::Isolated: return ranges;
    case Behavior::MergedWithPrevious:
    case Behavior::Contiguous:
      for (const auto& r : ranges) {
        const bool join = behavior == Behavior::Contiguous ? r.is_match == previous_match : r.is_match && !previous_match;
        if (join) extend_last(acc, r, false);
        else acc.push_back(r);
        previous_match = r.is_match;
      }
      return acc;
    case Behavior::MergedWithNext:
      for (auto it = ranges.rbegin(); it != ranges.rend(); ++it) {
        if (it->is_match && !previous_match) extend_last(acc, *it, true);
        else acc.push_back(*it);
        previous_match = it->is_match;
      }
      return {acc.rbegin(), acc.rend()};
  }
  return acc;
}

// Cuts every piece at the matches of `regex`; empty pieces are dropped.
void split_pieces(std::vector<TextPiece>& pieces, const UnicodeRegex& regex, Behavior behavior, bool invert) {
  std::vector<TextPiece> out;
  for (auto& p : pieces) {
    auto ranges = match_ranges(regex, p.text);
    if (invert)
      for (auto& r : ranges) r.is_match = !r.is_match;
    for (const auto& r : apply_behavior(ranges, behavior))
      if (r.end > r.begin) out.push_back({p.text.substr(r.begin, r.end - r.begin), p.at_start && r.begin == 0});
  }
  pieces = std::move(out);
}

PreTokenizer split(const json& node, const std::string& where) {
  auto regex = std::make_shared<UnicodeRegex>(regex_from_pattern(node.at("pattern"), where));
  const Behavior behavior = parse_behavior(node.at("behavior").get<std::string>(), where);
  const bool invert = node.value("invert", false);
  return [regex, behavior, invert](std::vector<TextPiece>& pieces) { split_pieces(pieces, *regex, behavior, invert); };
}

// GPT-2's pre-tokenization regex, which ByteLevel applies when use_regex is true.
constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

PreTokenizer byte_level(const json& node, const std::string& where) {
  const bool prefix_space = node.value("add_prefix_space", true);
  std::shared_ptr<UnicodeRegex> regex;
  if (node.value("use_regex", true)) regex = std::make_shared<UnicodeRegex>(kGpt2Pattern, where);
  return [prefix_space, regex](std::vector<TextPiece>& pieces) {
    if (prefix_space)
      for (auto& p : pieces)
        if (!p.text.starts_with(' ')) p.text.insert(0, " ");
    if (regex) split_pieces(pieces, *regex, Behavior::Isolated, false);
    for (auto& p : pieces) {
      std::string mapped;
      mapped.reserve(p.text.size() * 2);
      for (char c : p.text) mapped += byte_level_char(uint8_t(c));
      p.text = std::move(mapped);
    }
  };
}

PreTokenizer metaspace(const json& node, const std::string& where) {
  const std::string replacement = node.value("replacement", std::string("\xE2\x96\x81"));
  const std::string scheme = metaspace_prepend_scheme(node, where);
  const bool split_words = node.value("split", true);
  auto marker = std::make_shared<UnicodeRegex>(regex_escape(replacement), where);
  return [=](std::vector<TextPiece>& pieces) {
    for (auto& p : pieces) {
      replace_all(p.text, " ", replacement);
      const bool prepend = scheme == "always" || (scheme == "first" && p.at_start);
      if (prepend && !p.text.starts_with(replacement)) p.text.insert(0, replacement);
    }
    if (split_words) split_pieces(pieces, *marker, Behavior::MergedWithNext, false);
  };
}

PreTokenizer sequence(const json& node, const std::string& where) {
  std::vector<PreTokenizer> steps;
  for (const auto& n : node.at("pretokenizers")) steps.push_back(make_pre_tokenizer(n, where));
  return [steps](std::vector<TextPiece>& pieces) {
    for (const auto& step : steps) step(pieces);
  };
}

struct PreTokenizerType {
  const char* name;
  PreTokenizer (*make)(const json&, const std::string&);
};

const PreTokenizerType kPreTokenizers[] = {
    {"Split", split}, {"ByteLevel", byte_level}, {"Metaspace", metaspace}, {"Sequence", sequence}};

struct ByteLevelMap {
  std::array<std::string, 256> chars;
  ByteLevelMap() {
    // Printable Latin-1 bytes stand for themselves; the rest take code points from U+0100 up.
    int next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      const int cp = printable ? b : next++;
      chars[size_t(b)] = cp < 0x80 ? std::string(1, char(cp))
                                   : std::string{char(0xC0 | (cp >> 6)), char(0x80 | (cp & 0x3F))};
    }
  }
};

const ByteLevelMap& byte_level_map() {
  static const ByteLevelMap map;
  return map;
}

}  // namespace

std::string metaspace_prepend_scheme(const json& node, const std::string& where) {
  std::string scheme = node.value("prepend_scheme", std::string());
  if (scheme.empty()) scheme = node.value("add_prefix_space", true) ? "always" : "never";  // files before tokenizers 0.14
  if (scheme != "always" && scheme != "first" && scheme != "never")
    fail(where, "prepend_scheme '{}' is not supported (always, first, never)", scheme);
  return scheme;
}

PreTokenizer make_pre_tokenizer(const json& node, const std::string& where) {
  if (node.is_null()) return {};
  return make_component(kPreTokenizers, node, where, "pre_tokenizer");
}

const std::string& byte_level_char(uint8_t b) { return byte_level_map().chars[b]; }

int byte_level_byte(std::string_view ch) {
  // Code points below U+0100 + 256 + 68: one or two UTF-8 bytes.
  static const auto inverse = [] {
    std::array<int, 512> inv;
    inv.fill(-1);
    for (int b = 0; b < 256; ++b) {
      const auto& s = byte_level_map().chars[size_t(b)];
      const int cp = s.size() == 1 ? uint8_t(s[0]) : ((uint8_t(s[0]) & 0x1F) << 6) | (uint8_t(s[1]) & 0x3F);
      inv[size_t(cp)] = b;
    }
    return inv;
  }();
  int cp;
  if (ch.size() == 1 && uint8_t(ch[0]) < 0x80) cp = uint8_t(ch[0]);
  else if (ch.size() == 2 && (uint8_t(ch[0]) & 0xE0) == 0xC0) cp = ((uint8_t(ch[0]) & 0x1F) << 6) | (uint8_t(ch[1]) & 0x3F);
  else return -1;
  return cp < 512 ? inverse[size_t(cp)] : -1;
}

}  // namespace mixq::io
