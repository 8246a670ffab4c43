// `quantize --head SPEC` quantizes the output head (lm_head) too: on tinystories5M, whose
// classifier is tied to the embedding, the head becomes its own packed tensor (the embedding keeps
// its stored values for the lookup), the file loads and runs it, an 8-bit head costs almost no
// perplexity and a decode step reads fewer bytes; the file records the head's spec. A calibrated
// method or a bad spec for --head is a clear error naming it.
#include <gtest/gtest.h>

#include <regex>

#include <nlohmann/json.hpp>

#include "cli_run.hpp"
#include "mixq/io/safetensors.hpp"
#include "mixq/model/packed_linear.hpp"
#include "mixq/quant/model_file.hpp"
#include "test_paths.hpp"

namespace mixq {
namespace {

using test::expect_clean_error;
using test::run_mixq;

const std::string kModel = test::shared_path("models/tinystories5M/model.bin");

double gptq_ppl(const std::string& file) {
  const auto r = run_mixq("eval -m " + file + " --text " + test::shared_path("data/tinystories/tinystories_valid_head.txt") +
                          " --ctx 256 --max-windows 16 -t 2 --protocol gptq");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  std::smatch m;
  EXPECT_TRUE(std::regex_search(r.output, m, std::regex("ppl ([0-9.]+)"))) << r.output;
  return m.empty() ? 0 : std::stod(m[1]);
}

TEST(QuantizedHead, AnEightBitHeadOfTinyStories5MIsItsOwnTensorAndKeepsPerplexity) {
  test::TempDir dir;
  const std::string plain = dir / "plain.safetensors", headed = dir / "head.safetensors";
  const std::string args = "quantize -q -m " + kModel + " --method rtn --bits 4 --group 32 -o ";
  auto r = run_mixq(args + plain);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = run_mixq(args + headed + " --head rtn:8:32");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // The whole file's bits/weight as quantize and inspect count it: over the same parameters.
  std::smatch bpw;
  ASSERT_TRUE(std::regex_search(r.output, bpw, std::regex("([0-9.]+) over the whole file"))) << r.output;
  const auto inspected = run_mixq("inspect --json " + headed);
  ASSERT_EQ(inspected.exit_code, 0) << inspected.output;
  EXPECT_NEAR(nlohmann::json::parse(inspected.output).at("size").at("bits_per_weight").get<double>(), std::stod(bpw[1]), 1e-4);

  quant::QuantizedModel p = quant::load_quantized_model(plain, 1), h = quant::load_quantized_model(headed, 1);
  ASSERT_TRUE(p.model->config().tied_classifier);
  EXPECT_FALSE(h.model->config().tied_classifier);
  const auto* head = dynamic_cast<const model::PackedLinear*>(h.model->weights().classifier.get());
  ASSERT_NE(head, nullptr);
  EXPECT_EQ(head->packed().format, "uniform");
  EXPECT_NEAR(head->packed().bits_per_weight(), 8.0 + 16.0 * 2 / 32, 1e-9);  // 8-bit codes, fp16 scale + zero per 32
  EXPECT_EQ(h.record.method.at("head"), "rtn:8:32");
  EXPECT_FALSE(p.record.method.contains("head"));
  EXPECT_LT(h.model->bytes_per_token(), p.model->bytes_per_token());
  // Every tensor of the plain file (embedding, norms, decoder layers, tokenizer) is in the other, the same bytes.
  const io::SafetensorsFile pf(plain), hf(headed);
  for (const auto& e : pf.entries()) {
    const auto* other = hf.find(e.name);
    ASSERT_NE(other, nullptr) << e.name;
    EXPECT_TRUE(std::equal(e.bytes.begin(), e.bytes.end(), other->bytes.begin(), other->bytes.end())) << e.name;
  }

  const double ppl_plain = gptq_ppl(plain), ppl_head = gptq_ppl(headed);
  EXPECT_GT(ppl_plain, 1.0);
  EXPECT_NEAR(ppl_head, ppl_plain, 0.005 * ppl_plain);

  r = run_mixq("run -m " + headed + " -n 8 -t 1 --seed 3");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("tok/s"), std::string::npos) << r.output;
}

TEST(QuantizedHead, ACalibratedMethodOrBadSpecIsAClearError) {
  test::TempDir dir;
  const std::string args = "quantize -q -m " + test::repo_model_path("stories260K/stories260K.bin") +
                           " --method rtn --bits 4 --group 32 -o " + (dir / "q.safetensors") + " --head ";
  expect_clean_error(run_mixq(args + "gptq:4:32"), "--head: 'gptq:4:32': the head is quantized without calibration");
  expect_clean_error(run_mixq(args + "rtn:5:32"), "--head");
  expect_clean_error(run_mixq(args + "nosuch:4"), "--head");
  EXPECT_FALSE(std::filesystem::exists(dir / "q.safetensors"));
}

}  // namespace
}  // namespace mixq
