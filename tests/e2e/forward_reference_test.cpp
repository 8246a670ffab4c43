// The forward pass against llama2.c's own logits (shared/reference), token by token and batched.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>

#include "mixq/io/checkpoint.hpp"
#include "mixq/io/mapped_file.hpp"
#include "mixq/model/llama.hpp"
#include "test_paths.hpp"

namespace mixq {
namespace {

std::vector<float> read_f32(const std::string& path) {
  const std::string b = io::read_whole_file(path);
  std::vector<float> v(b.size() / 4);
  std::memcpy(v.data(), b.data(), v.size() * 4);
  return v;
}

using test::max_abs_diff;

}  // namespace

class ForwardMatchesLlama2c : public ::testing::TestWithParam<std::tuple<test::RealModel, const char*, int>> {};

TEST_P(ForwardMatchesLlama2c, LogitsWithin1e3) {
  const auto [m, prompt, threads] = GetParam();
  const std::string ref = test::shared_path(std::string("reference/") + m.name + "/" + prompt);
  MIXQ_REQUIRE_FILE(ref + ".logits.f32");
  io::Checkpoint ck = io::load_checkpoint(test::model_file(m));
  const auto ids = test::read_ids(ref + ".tokens.txt");
  const auto expected = read_f32(ref + ".logits.f32");
  const int V = ck.config.vocab_size;
  ASSERT_EQ(expected.size(), ids.size() * size_t(V));
  model::LlamaModel model = model::LlamaModel::from_checkpoint(ck, threads);

  // Token at a time (decode path, GEMV kernels).
  model::KvCache cache(model.config(), model.config().seq_len);
  std::vector<float> stepwise(expected.size());
  for (size_t i = 0; i < ids.size(); ++i)
    model.forward(std::span<const int>(&ids[i], 1), int(i), cache, &stepwise[i * size_t(V)]);
  EXPECT_LE(max_abs_diff(stepwise, expected), 1e-3f) << m.name << " " << prompt << " token by token";

  // Whole prompt in batches of 7 (prompt path, GEMM, cache reused across batches).
  model::KvCache cache2(model.config(), model.config().seq_len);
  std::vector<float> batched(expected.size());
  for (size_t i = 0; i < ids.size(); i += 7) {
    const size_t n = std::min<size_t>(7, ids.size() - i);
    model.forward(std::span<const int>(ids).subspan(i, n), int(i), cache2, &batched[i * size_t(V)]);
  }
  EXPECT_LE(max_abs_diff(batched, expected), 1e-3f) << m.name << " " << prompt << " batched";
}

INSTANTIATE_TEST_SUITE_P(RealModels, ForwardMatchesLlama2c,
                         ::testing::Combine(::testing::ValuesIn(test::kRealModels),
                                            ::testing::Values("lily", "unicode"), ::testing::Values(1, 2)),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param).name) + "_" + std::get<1>(info.param) + "_" +
                                  std::to_string(std::get<2>(info.param)) + "threads";
                         });

}  // namespace mixq
