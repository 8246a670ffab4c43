#pragma once
// What a GGUF file holds, for `mixq inspect`: llama.cpp users' files described in mixq's terms.
#include <string>

#include <nlohmann/json.hpp>

namespace mixq::io {

// {"file", "gguf_version", "architecture", "config" (the model's config as config.json keys),
// "tokenizer" {"model", "pre", "tokens"}, "tensors" [{"name", "type", "shape", "bytes",
// "bits_per_weight"}] in file order, "decoder_linear_types" {type: count}, "size" {"bytes",
// "parameters", "bits_per_weight" (the whole file), "decoder_linear_bits_per_weight"}}. Error
// (naming the file) for whatever open_gguf refuses.
nlohmann::json describe_gguf(const std::string& path);

}  // namespace mixq::io
