// safetensors header + tensor table (io/safetensors), and every tensor's conversion to fp32.
#include "fuzz_input.hpp"
#include "mixq/io/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = mixq::fuzz::input_file(data, size, ".safetensors");
  mixq::fuzz::expect_clean([&] {
    mixq::io::SafetensorsFile f(path);
    for (const auto& e : f.entries())
      if (e.dtype == mixq::io::DType::F32 || e.dtype == mixq::io::DType::F16 || e.dtype == mixq::io::DType::BF16)
        (void)f.to_f32(e);
    (void)f.metadata().size();
  });
  return 0;
}
