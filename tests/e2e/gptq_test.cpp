// GPTQ on real weights and real calibration text.
#include <gtest/gtest.h>

#include "mixq/eval/perplexity.hpp"
#include "mixq/formats/registry.hpp"
#include "mixq/io/mapped_file.hpp"
#include "mixq/model/packed_linear.hpp"
#include "mixq/quant/pipeline.hpp"
#include "quant_helpers.hpp"
#include "test_paths.hpp"

namespace mixq::quant {
namespace {

const char* kCalib = "data/tinystories/tinystories_train_head_2MiB.txt";
const char* kValid = "data/tinystories/tinystories_valid_head.txt";

std::vector<std::vector<int>> calib_windows(const io::Tokenizer& tok, int samples, int len) {
  const std::string text = io::read_whole_file(test::shared_path(kCalib)).substr(0, 400000);
  return sample_windows(tok.encode(text, true), samples, len, 0);
}

}  // namespace

TEST(Gptq, BeatsRtnOnEveryLayerOfTinyStories5M) {
  MIXQ_REQUIRE_FILE(test::shared_path(kCalib));
  MIXQ_REQUIRE_FILE(test::model_file(test::kRealModels[1]));
  test::for_each_linear_with_hessian(
      test::model_file(test::kRealModels[1]), test::shared_path(kCalib), 32, 256,
      [](const std::string& name, const Tensor& w, const std::vector<double>& h) {
        for (int bits : {2, 3, 4}) {
          MethodOptions o;
          o.params = UniformOptions{{bits, 128, false}};
          const double rtn = test::output_error(w, method_info("rtn").quantize(w, {}, o), h);
          const double gptq = test::output_error(w, quantize_gptq(w, h, o), h);
          EXPECT_LT(gptq, rtn) << name << " " << bits << " bits";
          if (name.find("layers.0.") != std::string::npos && bits == 3)
            std::printf("%s 3-bit: rtn %.4g gptq %.4g\n", name.c_str(), rtn, gptq);
        }
      });
}

// 4-bit GPTQ (group 128) through the layer-sequential driver: within 3 % of fp32 perplexity,
// and the quantized file is byte-identical whether 1 or 2 threads made it.
TEST(Gptq, FourBitTinyStories5MWithin3PercentAndThreadCountInvariant) {
  MIXQ_REQUIRE_FILE(test::shared_path(kCalib));
  MIXQ_REQUIRE_FILE(test::shared_path(kValid));
  const std::string text = io::read_whole_file(test::shared_path(kValid));
  test::TempDir dir;
  const eval::PerplexityOptions po = test::quiet_ppl_options(100);
  double fp = 0, q = 0;
  for (int threads : {2, 1}) {
    auto m = test::load_model(test::model_file(test::kRealModels[1]), threads);
    const auto stream = eval::tokenize_eval_text(*m.tok, text, false);
    if (threads == 2) fp = eval::perplexity(*m.model, stream, po).ppl;
    MethodOptions o;
    o.params = UniformOptions{{4, 128, false}};
    Calibration calib;
    calib.windows = calib_windows(*m.tok, 32, 256);
    save_quantized_model(dir / (std::to_string(threads) + ".safetensors"), *m.model, *m.tok,
                         quantize_with_record(*m.model, calib, o));
    if (threads == 2) q = eval::perplexity(*m.model, stream, po).ppl;
  }
  std::printf("tinystories5M fp %.4f gptq4-g128 %.4f\n", fp, q);
  EXPECT_LT(q, fp * 1.03);
  EXPECT_EQ(io::read_whole_file(dir / "1.safetensors"), io::read_whole_file(dir / "2.safetensors"));
}

}  // namespace mixq::quant
