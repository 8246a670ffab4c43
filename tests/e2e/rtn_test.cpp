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
      // Each weight is within half a step of its group's grid (the step: the group's range,
      // zero included, over 2^bits − 1 levels), plus the fp16 rounding of scale and zero.
      std::vector<float> row(size_t(w.cols()));
      double worst_ratio = 0;
      for (int64_t r = 0; r < w.rows(); ++r) {
        formats::UniformFormat::dequantize_rows(t, r, r + 1, row.data());
        for (int64_t g0 = 0; g0 < w.cols(); g0 += 128) {
          const int64_t g1 = std::min<int64_t>(w.cols(), g0 + 128);
          float lo = 0, hi = 0;
          for (int64_t i = g0; i < g1; ++i) {
            lo = std::min(lo, w.data[size_t(r * w.cols() + i)]);
            hi = std::max(hi, w.data[size_t(r * w.cols() + i)]);
          }
          const double step = double(hi - lo) / double((1 << bits) - 1);
          for (int64_t i = g0; i < g1; ++i) {
            const double err = std::fabs(double(row[size_t(i)]) - double(w.data[size_t(r * w.cols() + i)]));
            worst_ratio = std::max(worst_ratio, err / step);
          }
        }
      }
      const double fp16 = double(1 << bits) / 1024.0;  // scale × code off by up to 2^-11 relative
      EXPECT_LE(worst_ratio, 0.5 + fp16) << name << " " << bits << " bits: worst error / group step";
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
