// llama2.c checkpoint: the 7-int32 header, then the fp32 tensors it implies (io/llama2c_checkpoint).
#include "fuzz_input.hpp"
#include "mixq/io/checkpoint.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = mixq::fuzz::input_file(data, size, ".bin");
  mixq::fuzz::expect_clean([&] { (void)mixq::io::load_llama2c(path); });
  return 0;
}
