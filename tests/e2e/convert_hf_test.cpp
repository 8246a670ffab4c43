// `convert` writes an HF directory; loading it back must give the llama2.c checkpoint's logits.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "mixq/io/hf_checkpoint.hpp"
#include "mixq/io/mapped_file.hpp"
#include "mixq/model/llama.hpp"
#include "test_paths.hpp"

namespace mixq {
namespace {

std::vector<float> logits_for(io::Checkpoint ck, const std::vector<int>& ids) {
  const int V = ck.config.vocab_size;
  auto model = model::LlamaModel::from_checkpoint(ck, 2);
  model::KvCache cache(model.config(), model.config().seq_len);
  std::vector<float> out(ids.size() * size_t(V));
  model.forward(ids, 0, cache, out.data());
  return out;
}

}  // namespace

class ConvertToHf : public ::testing::TestWithParam<test::RealModel> {};

TEST_P(ConvertToHf, F32DirectoryGivesIdenticalLogits) {
  const auto m = GetParam();
  MIXQ_REQUIRE_FILE(test::model_file(m));
  test::TempDir dir;
  io::Checkpoint src = io::load_checkpoint(test::model_file(m));
  io::save_hf_dir(src, dir / "hf", io::DType::F32);

  // HF conventions: tensor names, config keys, q/k rows permuted for rotate-half RoPE.
  io::SafetensorsFile st(dir / "hf/model.safetensors");
  const auto& q = st.at("model.layers.0.self_attn.q_proj.weight");
  EXPECT_EQ(q.shape, (std::vector<int64_t>{src.config.dim, src.config.dim}));
  EXPECT_NE(st.to_f32(q).data, src.at(io::names::wq(0)).data);
  EXPECT_EQ(st.to_f32(st.at("model.layers.0.self_attn.v_proj.weight")).data, src.at(io::names::wv(0)).data);
  const auto cfg = nlohmann::json::parse(io::read_whole_file(dir / "hf/config.json"));
  EXPECT_EQ(cfg["num_key_value_heads"], src.config.n_kv_heads);
  EXPECT_EQ(cfg["tie_word_embeddings"], true);

  io::Checkpoint hf = io::load_checkpoint(dir / "hf");
  const auto ids = hf.tokenizer->encode("Once upon a time, there was a little dog.", true);
  const auto a = logits_for(std::move(src), ids);
  const auto b = logits_for(std::move(hf), ids);
  EXPECT_EQ(a, b);  // F32 and a pure row permutation: bit-identical
}

TEST_P(ConvertToHf, HalfPrecisionDirectoriesLoadWithSmallLogitError) {
  const auto m = GetParam();
  MIXQ_REQUIRE_FILE(test::model_file(m));
  test::TempDir dir;
  const auto ids = std::vector<int>{1, 403, 407, 261, 378, 432};
  const auto ref = logits_for(io::load_checkpoint(test::model_file(m)), ids);
  for (auto [dtype, tol] : {std::pair{io::DType::F16, 0.05f}, std::pair{io::DType::BF16, 0.3f}}) {
    io::save_hf_dir(io::load_checkpoint(test::model_file(m)), dir / "hf", dtype);
    const auto got = logits_for(io::load_checkpoint(dir / "hf", test::repo_model_path("stories260K/tok512.bin")), ids);
    float worst = 0;
    for (size_t i = 0; i < got.size(); ++i) worst = std::max(worst, std::fabs(got[i] - ref[i]));
    EXPECT_GT(worst, 0.f) << io::dtype_name(dtype) << " rounding must show";
    EXPECT_LT(worst, tol) << io::dtype_name(dtype);
  }
}

INSTANTIATE_TEST_SUITE_P(RealModels, ConvertToHf, ::testing::ValuesIn(test::kRealModels),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace mixq
