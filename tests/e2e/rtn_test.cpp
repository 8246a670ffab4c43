// RTN into the `uniform` format on real weights, and quantized inference on packed weights.
#include <gtest/gtest.h>

#include <cmath>

#include "mixq/eval/perplexity.hpp"
#include "mixq/io/mapped_file.hpp"
#include "mixq/model/packed_linear.hpp"
#include "mixq/quant/methods/rtn.hpp"
#include "test_paths.hpp"

namespace mixq {
namespace {

bool is_linear(const std::string& name) { return name.find("_proj.weight") != std::string::npos; }

double ppl_of(io::Checkpoint ck, const std::string& text, const model::LlamaModel::LinearFactory& f) {
  auto model = model::LlamaModel::from_checkpoint(ck, 2, f);
  eval::PerplexityOptions o;
  o.progress = false;
  o.max_windows = 40;
  return eval::perplexity(model, eval::tokenize_eval_text(*ck.tokenizer, text, false), o).ppl;
}

}  // namespace

// Without clipping, every weight of every real layer is within one quantization step of its
// original: half a step from rounding, plus up to half a step where the integer zero point
// shifts the grid so the range's end is clamped. The step is at most 2·max|w| / (2^b − 1).
TEST(Rtn, EveryLinearOfTinyStories5MWithinOneStep) {
  MIXQ_REQUIRE_FILE(test::model_file(test::kRealModels[1]));
  const io::Checkpoint ck = io::load_checkpoint(test::model_file(test::kRealModels[1]));
  for (int bits : {2, 3, 4, 8})
    for (const auto& [name, w] : ck.tensors) {
      if (!is_linear(name)) continue;
      quant::RtnOptions o{{bits, 128, false}, false};
      const auto t = quant::quantize_rtn(w, o);
      EXPECT_EQ(t.total_bytes(), formats::UniformFormat::bytes_for(w.rows(), w.cols(), o.format));
      std::vector<float> row(size_t(w.cols()));
      float worst = 0;
      for (int64_t r = 0; r < w.rows(); ++r) {
        formats::UniformFormat::dequantize_rows(t, r, r + 1, row.data());
        for (int64_t i = 0; i < w.cols(); ++i)
          worst = std::max(worst, std::fabs(row[size_t(i)] - w.data[size_t(r * w.cols() + i)]));
      }
      float max_abs = 0;
      for (float v : w.data) max_abs = std::max(max_abs, std::fabs(v));
      EXPECT_LE(worst, 2 * max_abs / float((1 << bits) - 1) * 1.001f) << name << " " << bits << " bits";  // fp16 scale rounding
    }
}

// Quantized inference on packed weights: 8-bit RTN is nearly lossless, 4-bit costs a little,
// 2-bit a lot — in that order, on both real models.
TEST(Rtn, PerplexityDegradesInBitOrderOnRealModels) {
  const std::string text_path = test::shared_path("data/tinystories/tinystories_valid_head.txt");
  MIXQ_REQUIRE_FILE(text_path);
  const std::string text = io::read_whole_file(text_path);
  for (const auto& m : test::kRealModels) {
    const double fp = ppl_of(io::load_checkpoint(test::model_file(m)), text, {});
    double prev = fp;
    for (int bits : {8, 4, 2}) {
      const double q = ppl_of(io::load_checkpoint(test::model_file(m)), text, [bits](const std::string&, Tensor&& w) {
        return std::make_unique<model::PackedLinear>(quant::quantize_rtn(w, {{bits, 32, false}, false}));
      });
      RecordProperty(std::string(m.name) + "_rtn" + std::to_string(bits), std::to_string(q));
      std::printf("%s fp %.4f rtn%d-g32 %.4f\n", m.name, fp, bits, q);
      if (bits == 8) {
        EXPECT_NEAR(q, fp, fp * 0.005) << m.name;
      }
      EXPECT_GE(q, prev * 0.999) << m.name << " " << bits;
      prev = q;
    }
  }
}

}  // namespace mixq
