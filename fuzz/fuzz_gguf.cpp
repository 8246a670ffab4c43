// GGUF (io/gguf): the header, metadata and tensor table, every value read with the getter of its
// type, every tensor decoded from its ggml blocks, and the file opened as a checkpoint with its
// tokenizer rebuilt (a SentencePiece model made from the vocabulary) and used.
#include "fuzz_input.hpp"
#include "mixq/io/gguf.hpp"
#include "mixq/io/gguf_vocab.hpp"
#include "mixq/io/stored_tensor.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = mixq::fuzz::input_file(data, size, ".gguf");
  mixq::fuzz::expect_clean([&] {
    const mixq::io::GgufFile f(path);
    for (const std::string& key : f.keys()) {
      // Each getter either returns the value or names a type mismatch.
      mixq::fuzz::expect_clean([&] { (void)f.get_int(key); });
      mixq::fuzz::expect_clean([&] { (void)f.get_float(key); });
      mixq::fuzz::expect_clean([&] { (void)f.get_bool(key); });
      mixq::fuzz::expect_clean([&] { (void)f.get_string(key); });
      mixq::fuzz::expect_clean([&] { (void)f.get_strings(key); });
      mixq::fuzz::expect_clean([&] { (void)f.get_floats(key); });
      mixq::fuzz::expect_clean([&] { (void)f.get_ints(key); });
    }
    // The tokenizer alone (a seed holds only its keys), then the whole model.
    mixq::fuzz::expect_clean([&] {
      const auto tok = mixq::io::gguf_vocab_tokenizer(mixq::io::read_gguf_vocab(f), path);
      (void)tok->decode_all(tok->encode("Once upon a time, the café 日本 <|begin_of_text|>", true));
    });
    for (const auto& t : f.tensors())
      mixq::fuzz::expect_clean([&] {
        (void)mixq::io::StoredTensor::ggml(path, t.name, t.type, t.shape, t.bytes, f.file()).to_f32();
      });
    const mixq::io::StoredCheckpoint ck = mixq::io::open_gguf(path);
    (void)ck.tokenizer->decode_all(ck.tokenizer->encode("Once upon a time, the café 日本", true));
  });
  return 0;
}
