// Hugging Face config.json (io/hf_checkpoint parse_hf_config).
#include "fuzz_input.hpp"
#include "mixq/io/hf_checkpoint.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mixq::fuzz::expect_clean(
      [&] { (void)mixq::io::parse_hf_config(std::string(reinterpret_cast<const char*>(data), size), "fuzz"); });
  return 0;
}
