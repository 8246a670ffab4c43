#pragma once
// tokenizer.json "decoder": how a token's string becomes text (ByteLevel: characters back to bytes;
// Llama-2: "▁" → " ", <0xXX> → the byte, the first token's leading space stripped). Applied token
// by token, so generation can print as it goes.
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

namespace mixq::io {

// Turns one token's string into its bytes in place; `first`: the token starts the decoded text.
using Decoder = std::function<void(std::string& token, bool first)>;

// The decoder a tokenizer.json node describes (null: token strings as they are); an unsupported
// type or option is refused, naming it and `where`.
Decoder make_decoder(const nlohmann::json& node, const std::string& where);

}  // namespace mixq::io
