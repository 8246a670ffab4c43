#pragma once
// tokenizer.json "pre_tokenizer": how a normalized piece of text is cut into the words BPE merges
// within (Llama-3/Qwen: Split by their regex, then ByteLevel's byte → printable-character map;
// Mistral: Metaspace). Words never merge across each other.
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mixq::io {

struct TextPiece {
  std::string text;
  bool at_start = false;  // begins at offset 0 of the encoded text (Metaspace's prepend "first")
};

using PreTokenizer = std::function<void(std::vector<TextPiece>&)>;

// The pre-tokenizer a tokenizer.json node describes (null: the whole piece is one word); an
// unsupported type or option is refused, naming it and `where`.
PreTokenizer make_pre_tokenizer(const nlohmann::json& node, const std::string& where);

// Metaspace's prepend_scheme ("always", "first" or "never"; older files' add_prefix_space), shared
// by the pre-tokenizer and the decoder of that name.
std::string metaspace_prepend_scheme(const nlohmann::json& node, const std::string& where);

// GPT-2's byte → character map (bytes_to_unicode): byte b as the UTF-8 of a printable code point.
const std::string& byte_level_char(uint8_t b);
// The inverse: the byte a byte-level character stands for, -1 when `ch` is not one.
int byte_level_byte(std::string_view ch);

}  // namespace mixq::io
