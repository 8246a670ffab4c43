// A quantize run's journal (quant/run_journal parse_journal), read by `quantize --resume`.
#include "fuzz_input.hpp"
#include "mixq/quant/run_journal.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mixq::fuzz::expect_clean(
      [&] { (void)mixq::quant::parse_journal(std::string(reinterpret_cast<const char*>(data), size), "fuzz"); });
  return 0;
}
