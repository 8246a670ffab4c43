// The accelerator model's energy/area configuration file (accel::AccelConfig::load).
#include "fuzz_input.hpp"
#include "mixq/accel/accel_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = mixq::fuzz::input_file(data, size, ".json");
  mixq::fuzz::expect_clean([&] { (void)mixq::accel::AccelConfig::load(path); });
  return 0;
}
