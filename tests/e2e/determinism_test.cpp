// Determinism of every quantization method: the same model, calibration text and seed give a
// byte-identical quantized file on 1 and 2 threads and on a repeated run (DEVELOPERS.md).
#include <gtest/gtest.h>

#include "mixq/io/mapped_file.hpp"
#include "mixq/quant/model_file.hpp"
#include "mixq/quant/pipeline.hpp"
#include "test_paths.hpp"

namespace mixq::quant {

TEST(Determinism, EveryMethodWritesTheSameBytesForAnyThreadCountAndRun) {
  const std::string calib_text = test::shared_path("data/tinystories/tinystories_train_head_2MiB.txt");
  MIXQ_REQUIRE_FILE(calib_text);
  test::TempDir dir;
  // One spec per method (stories260K: dim 64, hidden 172, so groups of 32/48 leave short groups).
  for (const char* spec : {"rtn:2:32", "gptq:3:32", "slim:2:32", "fineq-rtn:48", "fineq-gptq:row"}) {
    std::vector<std::string> files;
    for (int threads : {1, 2, 2}) {
      auto m = test::load_model(test::repo_model_path("stories260K/stories260K.bin"), threads);
      CalibOptions co;
      co.samples = 8;
      co.length = 128;
      const auto calib = prepare_calibration(*m.tok, m.model->config().seq_len, calib_text, co);
      const auto record = quantize_with_record(*m.model, calib, parse_method_spec(spec));
      files.push_back(dir / (std::to_string(files.size()) + ".safetensors"));
      save_quantized_model(files.back(), *m.model, *m.tok, record);
    }
    const std::string first = io::read_whole_file(files[0]);
    EXPECT_GT(first.size(), 1000u) << spec;
    for (size_t i = 1; i < files.size(); ++i) EXPECT_EQ(io::read_whole_file(files[i]), first) << spec << " run " << i;
  }
}

}  // namespace mixq::quant
