// A mixq quantized model file: safetensors, the mixq.* metadata (config, formats, record,
// checksums — checked here, not enforced by the load in fuzzing builds — embedded tokenizer), every packed tensor's validation and repacking; when it loads,
// one token runs through the model.
#include "fuzz_input.hpp"
#include "mixq/quant/model_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = mixq::fuzz::input_file(data, size, ".safetensors");
  // The checksums themselves (load skips them in fuzzing builds so mutations reach what follows).
  mixq::fuzz::expect_clean([&] { mixq::quant::verify_checksums(mixq::io::SafetensorsFile(path)); });
  mixq::fuzz::expect_clean([&] {
    auto q = mixq::quant::load_quantized_model(path, 1);
    const auto& c = q.model->config();
    if (int64_t(c.dim) * c.vocab_size > (int64_t(1) << 24)) return;  // loaded; too large to run per input
    mixq::model::KvCache cache(c, 1);
    std::vector<float> logits(size_t(c.vocab_size));
    const int token = 1 % c.vocab_size;
    q.model->forward(std::span<const int>(&token, 1), 0, cache, logits.data(), false);
  });
  return 0;
}
