// The one-token kernel (interleaved layout, int8 activations) inside the whole model: decoding a
// text token by token gives nearly the same next-token distributions as running it as one batch
// (the dequantize + BLAS path on fp32 activations), for every format on tinystories5M: the
// activations' rounding moves them far less than the weights' quantization moved them from fp32.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "mixq/eval/perplexity.hpp"
#include "mixq/io/checkpoint.hpp"
#include "mixq/model/packed_linear.hpp"
#include "mixq/quant/methods/method.hpp"
#include "mixq/quant/pipeline.hpp"
#include "test_paths.hpp"

namespace mixq {
namespace {

TEST(DecodeKernel, TokenByTokenMatchesTheBatchPathOnEveryFormat) {
  MIXQ_REQUIRE_FILE(test::model_file(test::kRealModels[1]));
  const std::string text_path = test::shared_path("data/tinystories/tinystories_valid_head.txt");
  MIXQ_REQUIRE_FILE(text_path);
  std::ifstream f(text_path);
  std::stringstream text;
  text << f.rdbuf();
  auto fp32 = test::load_model(test::model_file(test::kRealModels[1]));
  std::vector<int> tokens = fp32.tok->encode(text.str().substr(0, 2000), true);
  tokens.resize(64);
  const int vocab = fp32.model->config().vocab_size;
  std::vector<float> reference(tokens.size() * size_t(vocab));
  model::KvCache reference_cache(fp32.model->config(), 64);
  fp32.model->forward(tokens, 0, reference_cache, reference.data(), true);
  for (const char* spec : {"rtn:2:128", "rtn:3:128", "rtn:4:32", "fineq-rtn:row"}) {
    auto m = test::load_model(test::model_file(test::kRealModels[1]));
    quant::quantize_with_record(*m.model, {}, quant::parse_method_spec(spec));
    int interleaved = 0;
    for (const auto& layer : m.model->weights().layers)
      interleaved += dynamic_cast<const model::PackedLinear&>(*layer.wq).interleaved() != nullptr;
    ASSERT_EQ(interleaved, m.model->config().n_layers) << spec;

    model::KvCache batch_cache(m.model->config(), 64), step_cache(m.model->config(), 64);
    std::vector<float> batch(tokens.size() * size_t(vocab)), step(static_cast<size_t>(vocab));
    m.model->forward(tokens, 0, batch_cache, batch.data(), true);
    double kl_sum = 0, kl_max = 0, weights_kl_sum = 0, nll_batch = 0, nll_step = 0;
    int same_top1 = 0;
    for (size_t t = 0; t < tokens.size(); ++t) {
      m.model->forward(std::span<const int>(&tokens[t], 1), int(t), step_cache, step.data(), false);
      const float* logits = &batch[t * size_t(vocab)];
      const double kl = eval::logits_kl(logits, step.data(), vocab);
      kl_sum += kl;
      kl_max = std::max(kl_max, kl);
      weights_kl_sum += eval::logits_kl(&reference[t * size_t(vocab)], logits, vocab);
      if (t + 1 < tokens.size()) {  // the text's own next token: perplexity on each path
        nll_batch += eval::token_nll(logits, vocab, tokens[t + 1]) / double(tokens.size() - 1);
        nll_step += eval::token_nll(step.data(), vocab, tokens[t + 1]) / double(tokens.size() - 1);
      }
      same_top1 += std::max_element(logits, logits + vocab) - logits == std::max_element(step.begin(), step.end()) - step.begin();
    }
    const double kl_mean = kl_sum / double(tokens.size()), weights_kl = weights_kl_sum / double(tokens.size());
    std::cout << spec << ": KL(batch ‖ token-by-token) mean " << kl_mean << " max " << kl_max << ", same top-1 "
              << same_top1 << "/" << tokens.size() << "; KL(fp32 model ‖ batch) mean " << weights_kl << "; ppl batch "
              << std::exp(nll_batch) << " token-by-token " << std::exp(nll_step) << "\n";
    // int8 activations (16 per scale) move each logit by ~1e-3 relative: KL ~1e-4 here; a wrong
    // code or scale gives > 1e-2.
    EXPECT_LT(kl_mean, 1e-3) << spec;
    EXPECT_LT(kl_max, 1e-2) << spec;
    EXPECT_LT(kl_mean, 0.1 * weights_kl) << spec;  // measured 0.2 % (2-bit) to 2.5 % (4-bit, G = 32)
    EXPECT_GE(same_top1, int(tokens.size()) - 2) << spec;
    EXPECT_NEAR(nll_step, nll_batch, 0.005) << spec;  // perplexity within 0.5 %
  }
}

// q/k/v and gate/up in one parallel loop (forward_shared_input) give exactly what each linear's own
// forward gives, for 1 and 2 tokens and 1 and 2 threads, with mixed formats and a dense fallback.
TEST(DecodeKernel, SharedInputLoopEqualsEachLinearsForward) {
  MIXQ_REQUIRE_FILE(test::model_file(test::kRealModels[1]));
  const io::Checkpoint ck = io::load_checkpoint(test::model_file(test::kRealModels[1]));
  auto packed = [&](const std::string& name, const char* spec) -> std::unique_ptr<model::Linear> {
    const auto o = quant::parse_method_spec(spec);
    return std::make_unique<model::PackedLinear>(quant::method_info(o.method).quantize(ck.tensors.at(name), {}, o));
  };
  std::vector<std::unique_ptr<model::Linear>> lins;
  lins.push_back(packed(io::names::wq(1), "rtn:2:128"));
  lins.push_back(packed(io::names::wk(1), "rtn:3:64"));
  lins.push_back(packed(io::names::wv(1), "fineq-rtn:row"));
  lins.push_back(std::make_unique<model::DenseLinear>(ck.tensors.at(io::names::wq(2))));
  const size_t cols = lins[0]->cols();
  std::vector<float> x(2 * cols);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.37f * float(i)) * (1 + float(i % 7));
  for (int threads : {1, 2}) {
    ThreadPool pool(threads);
    for (size_t n : {size_t(1), size_t(2)})
      for (size_t count : {size_t(3), size_t(4)}) {  // three packed (fused), and with the dense one (fallback)
        std::vector<const model::Linear*> group;
        std::vector<std::vector<float>> fused, alone;
        std::vector<float*> outs;
        for (size_t i = 0; i < count; ++i) {
          group.push_back(lins[i].get());
          fused.emplace_back(n * lins[i]->rows(), -1.f);
          alone.emplace_back(n * lins[i]->rows(), -2.f);
        }
        for (auto& y : fused) outs.push_back(y.data());
        model::forward_shared_input(group, x.data(), n, outs, pool);
        for (size_t i = 0; i < count; ++i) {
          lins[i]->forward(x.data(), n, alone[i].data(), pool);
          EXPECT_EQ(fused[i], alone[i]) << "linear " << i << ", " << n << " tokens, " << threads << " threads";
        }
      }
  }
}

}  // namespace
}  // namespace mixq
