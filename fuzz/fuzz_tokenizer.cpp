// Tokenizer files: the first input byte picks llama2.c tokenizer.bin, a SentencePiece model or a
// tokenizer.json bundle (tokenizer.json, NUL, tokenizer_config.json); then encode and decode a
// sentence with whatever loaded.
#include "fuzz_input.hpp"
#include "mixq/io/tokenizer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static const char* const kKinds[] = {"llama2c", "sentencepiece", "hf-tokenizer"};
  const std::string kind = kKinds[data[0] % 3];
  mixq::fuzz::expect_clean([&] {
    auto tok = mixq::io::tokenizer_from_bytes(kind, std::string(reinterpret_cast<const char*>(data + 1), size - 1), "fuzz");
    const auto ids = tok->encode("Once upon a time, a cat said \"héllo\" 123 <s>.\r\n  ", true);
    (void)tok->decode_all(ids);
  });
  return 0;
}
