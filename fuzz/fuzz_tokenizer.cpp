// Tokenizer files: llama2.c tokenizer.bin (first input byte even) or a SentencePiece model (odd),
// then encode and decode a sentence with whatever loaded.
#include "fuzz_input.hpp"
#include "mixq/io/tokenizer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string kind = data[0] % 2 ? "sentencepiece" : "llama2c";
  mixq::fuzz::expect_clean([&] {
    auto tok = mixq::io::tokenizer_from_bytes(kind, std::string(reinterpret_cast<const char*>(data + 1), size - 1), "fuzz");
    const auto ids = tok->encode("Once upon a time, a cat said \"héllo\" 123.", true);
    (void)tok->decode_all(ids);
  });
  return 0;
}
