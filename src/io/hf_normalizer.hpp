#pragma once
// tokenizer.json "normalizer": what is done to each piece of text between added tokens before it
// is pre-tokenized (Qwen: NFC; Llama-2: Prepend "▁" and Replace " " → "▁").
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

namespace mixq::io {

using Normalizer = std::function<void(std::string&)>;

// The normalizer a tokenizer.json node describes (null: none); an unsupported type is refused,
// naming it and `where`.
Normalizer make_normalizer(const nlohmann::json& node, const std::string& where);

// Unicode normal forms through utf8proc; `form` is "NFC", "NFD", "NFKC" or "NFKD".
std::string unicode_normalize(const std::string& text, const std::string& form);

}  // namespace mixq::io
