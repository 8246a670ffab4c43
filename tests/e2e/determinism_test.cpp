// Determinism of every quantization method: the same model, calibration text and seed give a
// byte-identical quantized file on 1, 2, 3, 7 and all threads and on a repeated run, in the
// library and through the CLI (DEVELOPERS.md).
#include <gtest/gtest.h>

#include "cli_run.hpp"
#include "mixq/io/mapped_file.hpp"
#include "mixq/quant/model_file.hpp"
#include "mixq/quant/pipeline.hpp"
#include "test_paths.hpp"

namespace mixq::quant {

namespace {

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
// The sanitizers look for races and stray accesses, which one threaded run over fewer, shorter
// windows shows; their slowdown makes more too costly (the release build checks every count, the
// repeated run and the longer calibration).
const std::vector<int> kThreadCounts = {1, 2};
constexpr int kCalibSamples = 4, kCalibLength = 64;
#else
const std::vector<int> kThreadCounts = {1, 2, 3, 7, 0, 2};  // 0: all hardware threads; 2 twice: a repeated run
constexpr int kCalibSamples = 8, kCalibLength = 128;
#endif

}  // namespace

TEST(Determinism, EveryMethodWritesTheSameBytesForAnyThreadCountAndRun) {
  const std::string calib_text = test::shared_path("data/tinystories/tinystories_train_head_2MiB.txt");
  MIXQ_REQUIRE_FILE(calib_text);
  test::TempDir dir;
  // One spec per method (stories260K: dim 64, hidden 172, so groups of 32/48 leave short groups).
  for (const char* spec : {"rtn:2:32", "gptq:3:32", "slim:2:32", "slim+:2:32+epochs=1+bake-gptq", "rtn+:2:48+epochs=1",
                           "gptq+:3:32+epochs=1", "fineq-rtn:48", "fineq-gptq:row", "fineq-gptq+:48+epochs=1"}) {
    std::vector<std::string> files;
    for (int threads : kThreadCounts) {
      auto m = test::load_model(test::repo_model_path("stories260K/stories260K.bin"), threads);
      CalibOptions co;
      co.samples = kCalibSamples;
      co.length = kCalibLength;
      const auto calib = prepare_calibration(*m.tok, m.model->config().seq_len, calib_text, co);
      const auto record = quantize_with_record(*m.model, calib, parse_method_spec(spec));
      files.push_back(dir / (std::to_string(files.size()) + ".safetensors"));
      save_quantized_model(files.back(), *m.model, *m.tok, record);
    }
    const std::string first = io::read_whole_file(files[0]);
    EXPECT_GT(first.size(), 1000u) << spec;
    for (size_t i = 1; i < files.size(); ++i)
      EXPECT_EQ(io::read_whole_file(files[i]), first) << spec << " on " << kThreadCounts[i] << " threads";
  }
}

// The same through the command line: `-t N` never changes a byte of the file.
TEST(Determinism, TheCliWritesTheSameBytesForAnyThreadCount) {
  const std::string calib_text = test::shared_path("data/tinystories/tinystories_train_head_2MiB.txt");
  MIXQ_REQUIRE_FILE(calib_text);
  test::TempDir dir;
  for (const char* method : {"--method gptq --bits 3 --group 32 --act-order"}) {
    std::string first;
    for (int threads : kThreadCounts) {
      const std::string out = dir / ("t" + std::to_string(threads) + ".safetensors");
      const auto r = test::run_mixq("quantize -q -m " + test::repo_model_path("stories260K/stories260K.bin") + " " + method +
                                    " --calib " + calib_text + " --calib-samples " + std::to_string(kCalibSamples) +
                                    " --calib-len " + std::to_string(kCalibLength) + " -t " +
                                    std::to_string(threads) + " -o " + out);
      ASSERT_EQ(r.exit_code, 0) << r.output;
      const std::string bytes = io::read_whole_file(out);
      if (first.empty()) first = bytes;
      EXPECT_EQ(bytes, first) << method << " on " << threads << " threads";
    }
  }
}

}  // namespace mixq::quant
