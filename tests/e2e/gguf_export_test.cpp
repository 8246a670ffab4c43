// `convert --to gguf`: the file read back by a minimal GGUF reader written here from the format's
// description (not mixq's writer): header, every key llama.cpp's llama architecture reads, the
// vocabulary as llama.cpp's llama2.c converter builds it, every tensor's name, dimensions
// (innermost first), type, aligned offset and bytes. The real llama.cpp's verdict on the same
// files (perplexity and greedy text) is scripts/peer/gguf_vs_llamacpp.sh's.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <variant>

#include "cli_run.hpp"
#include "mixq/core/error.hpp"
#include "mixq/core/half.hpp"
#include "mixq/io/checkpoint.hpp"
#include "mixq/io/gguf.hpp"
#include "mixq/io/mapped_file.hpp"
#include "mixq/quant/model_file.hpp"
#include "test_paths.hpp"

namespace mixq {
namespace {

struct GgufRead {
  using Value = std::variant<uint64_t, int64_t, double, bool, std::string, std::vector<std::string>, std::vector<double>>;
  uint32_t version = 0;
  std::map<std::string, Value> kv;
  struct TensorInfo {
    std::vector<uint64_t> ne;
    uint32_t type;
    uint64_t offset;
  };
  std::map<std::string, TensorInfo> tensors;
  std::vector<std::string> order;
  std::string bytes;
  size_t data_start = 0;
};

class Cursor {
 public:
  explicit Cursor(const std::string& b) : b_(b) {}
  template <typename T>
  T get() {
    if (pos_ + sizeof(T) > b_.size()) throw std::runtime_error("truncated");
    T v;
    std::memcpy(&v, b_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string str() {
    const auto n = get<uint64_t>();
    if (pos_ + n > b_.size()) throw std::runtime_error("truncated string");
    std::string s = b_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  size_t pos() const { return pos_; }

 private:
  const std::string& b_;
  size_t pos_ = 0;
};

double scalar(Cursor& c, uint32_t type) {
  switch (type) {
    case 4: return c.get<uint32_t>();
    case 5: return c.get<int32_t>();
    case 6: return c.get<float>();
    case 7: return c.get<uint8_t>();
    case 10: return double(c.get<uint64_t>());
    default: throw std::runtime_error("unexpected value type " + std::to_string(type));
  }
}

GgufRead read_gguf(const std::string& path) {
  GgufRead g;
  g.bytes = io::read_whole_file(path);
  Cursor c(g.bytes);
  if (g.bytes.compare(0, 4, "GGUF") != 0) throw std::runtime_error("no GGUF magic");
  c.get<uint32_t>();
  g.version = c.get<uint32_t>();
  const auto n_tensors = c.get<uint64_t>(), n_kv = c.get<uint64_t>();
  for (uint64_t i = 0; i < n_kv; ++i) {
    const std::string key = c.str();
    const auto type = c.get<uint32_t>();
    if (type == 8) {
      g.kv[key] = c.str();
    } else if (type == 9) {
      const auto et = c.get<uint32_t>();
      const auto n = c.get<uint64_t>();
      if (et == 8) {
        std::vector<std::string> v;
        for (uint64_t j = 0; j < n; ++j) v.push_back(c.str());
        g.kv[key] = v;
      } else {
        std::vector<double> v;
        for (uint64_t j = 0; j < n; ++j) v.push_back(scalar(c, et));
        g.kv[key] = v;
      }
    } else if (type == 7) {
      g.kv[key] = c.get<uint8_t>() != 0;
    } else if (type == 6) {
      g.kv[key] = double(c.get<float>());
    } else {
      g.kv[key] = uint64_t(scalar(c, type));
    }
  }
  for (uint64_t i = 0; i < n_tensors; ++i) {
    const std::string name = c.str();
    GgufRead::TensorInfo t;
    const auto dims = c.get<uint32_t>();
    for (uint32_t d = 0; d < dims; ++d) t.ne.push_back(c.get<uint64_t>());
    t.type = c.get<uint32_t>();
    t.offset = c.get<uint64_t>();
    g.tensors[name] = t;
    g.order.push_back(name);
  }
  g.data_start = (c.pos() + 31) / 32 * 32;
  return g;
}

template <typename T>
const T& kv(const GgufRead& g, const std::string& key) {
  const auto it = g.kv.find(key);
  if (it == g.kv.end()) throw std::runtime_error("missing key " + key);
  return std::get<T>(it->second);
}

// The bytes of tensor `name` as fp32, checking its type's size against the file.
std::vector<float> tensor_values(const GgufRead& g, const std::string& name) {
  const auto& t = g.tensors.at(name);
  uint64_t n = 1;
  for (auto d : t.ne) n *= d;
  const size_t width = t.type == 0 ? 4 : 2;
  EXPECT_EQ(t.offset % 32, 0u) << name;
  EXPECT_LE(g.data_start + t.offset + n * width, g.bytes.size()) << name;
  std::vector<float> out(n);
  const char* p = g.bytes.data() + g.data_start + t.offset;
  for (uint64_t i = 0; i < n; ++i) {
    if (t.type == 0) {
      std::memcpy(&out[i], p + 4 * i, 4);
    } else {
      uint16_t h;
      std::memcpy(&h, p + 2 * i, 2);
      out[i] = t.type == 1 ? f16_to_f32(h) : bf16_to_f32(h);
    }
  }
  return out;
}

class GgufExport : public ::testing::TestWithParam<test::RealModel> {};

TEST_P(GgufExport, FileHoldsLlamaCppsKeysVocabularyAndTheWeights) {
  const auto m = GetParam();
  MIXQ_REQUIRE_FILE(test::model_file(m));
  test::TempDir dir;
  const io::Checkpoint ck = io::load_checkpoint(test::model_file(m));
  const auto& c = ck.config;
  for (const char* dtype : {"F32", "F16"}) {
    SCOPED_TRACE(dtype);
    const std::string out = dir / (std::string(dtype) + ".gguf");
    const auto r = test::run_mixq("convert -m " + test::model_file(m) + " --to gguf --dtype " + dtype + " -o " + out);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const GgufRead g = read_gguf(out);
    EXPECT_EQ(g.version, 3u);
    EXPECT_EQ(kv<std::string>(g, "general.architecture"), "llama");
    EXPECT_EQ(kv<uint64_t>(g, "llama.block_count"), uint64_t(c.n_layers));
    EXPECT_EQ(kv<uint64_t>(g, "llama.embedding_length"), uint64_t(c.dim));
    EXPECT_EQ(kv<uint64_t>(g, "llama.feed_forward_length"), uint64_t(c.hidden_dim));
    EXPECT_EQ(kv<uint64_t>(g, "llama.attention.head_count"), uint64_t(c.n_heads));
    EXPECT_EQ(kv<uint64_t>(g, "llama.attention.head_count_kv"), uint64_t(c.n_kv_heads));
    EXPECT_EQ(kv<uint64_t>(g, "llama.rope.dimension_count"), uint64_t(c.head_size()));
    EXPECT_EQ(kv<uint64_t>(g, "llama.context_length"), uint64_t(c.seq_len));
    EXPECT_FLOAT_EQ(float(kv<double>(g, "llama.attention.layer_norm_rms_epsilon")), c.rms_norm_eps);
    EXPECT_FLOAT_EQ(float(kv<double>(g, "llama.rope.freq_base")), c.rope_theta);
    // llama.cpp's llama2.c converter: 0 <unk> (unknown), 1 <s> and 2 </s> (control), <0x..> bytes,
    // spaces as ▁.
    EXPECT_EQ(kv<std::string>(g, "tokenizer.ggml.model"), "llama");
    const auto& tokens = kv<std::vector<std::string>>(g, "tokenizer.ggml.tokens");
    const auto& types = kv<std::vector<double>>(g, "tokenizer.ggml.token_type");
    ASSERT_EQ(tokens.size(), size_t(c.vocab_size));
    ASSERT_EQ(types.size(), tokens.size());
    EXPECT_EQ(kv<std::vector<double>>(g, "tokenizer.ggml.scores").size(), tokens.size());
    EXPECT_EQ(tokens[0], "<unk>");
    EXPECT_EQ(types[0], 2);
    EXPECT_EQ(tokens[1], "<s>");
    EXPECT_EQ(types[1], 3);
    EXPECT_EQ(tokens[2], "</s>");
    EXPECT_EQ(tokens[3 + 0x41], "<0x41>");
    EXPECT_EQ(types[3 + 0x41], 6);
    int spaced = 0;
    for (size_t i = 259; i < tokens.size(); ++i) {
      EXPECT_EQ(tokens[i].find(' '), std::string::npos) << tokens[i];
      spaced += tokens[i].starts_with("\xe2\x96\x81");
      EXPECT_EQ(types[i], 1) << tokens[i];
    }
    EXPECT_GT(spaced, 10);
    EXPECT_EQ(kv<uint64_t>(g, "tokenizer.ggml.bos_token_id"), 1u);
    EXPECT_EQ(kv<uint64_t>(g, "tokenizer.ggml.eos_token_id"), 2u);
    // Tensors: llama.cpp's names, [cols, rows] dimensions, the weights' dtype (norms F32), values.
    EXPECT_EQ(g.tensors.size(), size_t(2 + 9 * c.n_layers + (c.tied_classifier ? 0 : 1)));
    const auto& q = g.tensors.at("blk.0.attn_q.weight");
    EXPECT_EQ(q.ne, (std::vector<uint64_t>{uint64_t(c.dim), uint64_t(c.q_dim())}));
    EXPECT_EQ(q.type, std::string(dtype) == "F32" ? 0u : 1u);
    EXPECT_EQ(g.tensors.at("blk.0.attn_norm.weight").type, 0u);
    EXPECT_EQ(g.tensors.at("token_embd.weight").ne, (std::vector<uint64_t>{uint64_t(c.dim), uint64_t(c.vocab_size)}));
    for (const auto& [gguf, ours] : std::vector<std::pair<std::string, std::string>>{
             {"blk.0.attn_q.weight", io::names::wq(0)},
             {"blk." + std::to_string(c.n_layers - 1) + ".ffn_down.weight", io::names::w2(c.n_layers - 1)},
             {"token_embd.weight", io::names::embedding()},
             {"output_norm.weight", io::names::final_norm()}}) {
      const auto got = tensor_values(g, gguf);
      const auto& want = ck.at(ours).data;
      ASSERT_EQ(got.size(), want.size()) << gguf;
      const bool half = std::string(dtype) == "F16" && gguf != "output_norm.weight";
      for (size_t i = 0; i < want.size(); ++i)
        ASSERT_EQ(got[i], half ? f16_to_f32(f32_to_f16(want[i])) : want[i]) << gguf << " element " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(RealModels, GgufExport, ::testing::ValuesIn(test::kRealModels),
                         [](const auto& info) { return std::string(info.param.name); });

// A quantized file: 8-bit g32 symmetric linears become Q8_0 blocks that decode to mixq's weights
// bit for bit; a 2-bit file is refused naming the tensor, or written dequantized when asked.
TEST(GgufExportQuantized, ExactGridsBecomeGgmlBlocksOthersNeedDequantize) {
  const std::string model = test::model_file(test::kRealModels[1]);  // tinystories5M: widths of whole 32-blocks
  MIXQ_REQUIRE_FILE(model);
  test::TempDir dir;
  ASSERT_EQ(test::run_mixq("quantize -q -m " + model + " --method rtn --bits 8 --group 32 --sym -o " + (dir / "q8.safetensors")).exit_code, 0);
  auto r = test::run_mixq("convert -m " + (dir / "q8.safetensors") + " --to gguf -o " + (dir / "q8.gguf"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("42 × Q8_0"), std::string::npos) << r.output;
  const GgufRead g = read_gguf(dir / "q8.gguf");
  const auto& t = g.tensors.at("blk.2.ffn_down.weight");
  EXPECT_EQ(t.type, 8u);
  EXPECT_EQ(t.offset % 32, 0u);
  const io::Checkpoint deq = quant::dequantized_checkpoint(quant::load_quantized_model(dir / "q8.safetensors", 1), "q8");
  const auto& want = deq.at(io::names::w2(2));
  ASSERT_EQ(t.ne, (std::vector<uint64_t>{uint64_t(want.cols()), uint64_t(want.rows())}));
  ASSERT_EQ(want.cols() % 32, 0);
  const char* p = g.bytes.data() + g.data_start + t.offset;
  for (size_t i = 0; i < want.data.size(); ++i) {
    const char* block = p + (i / 32) * 34;
    uint16_t h;
    std::memcpy(&h, block, 2);
    ASSERT_EQ(f16_to_f32(h) * float(int8_t(block[2 + i % 32])), want.data[i]) << "weight " << i;
  }

  ASSERT_EQ(test::run_mixq("quantize -q -m " + model + " --method rtn --bits 2 --group 32 -o " + (dir / "q2.safetensors")).exit_code, 0);
  r = test::run_mixq("convert -m " + (dir / "q2.safetensors") + " --to gguf -o " + (dir / "q2.gguf"));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("model.layers.0.self_attn.q_proj.weight"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--dequantize"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "q2.gguf"));
  r = test::run_mixq("convert -m " + (dir / "q2.safetensors") + " --to gguf --dequantize -o " + (dir / "q2.gguf"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(read_gguf(dir / "q2.gguf").tensors.at("blk.0.attn_q.weight").type, 0u);
  // stories260K's MLP width (172) is no whole number of blocks: named as the reason.
  ASSERT_EQ(test::run_mixq("quantize -q -m " + test::repo_model_path("stories260K/stories260K.bin") +
                           " --method rtn --bits 8 --group 32 --sym -o " + (dir / "s8.safetensors")).exit_code, 0);
  r = test::run_mixq("convert -m " + (dir / "s8.safetensors") + " --to gguf -o " + (dir / "s8.gguf"));
  EXPECT_NE(r.output.find("172 columns"), std::string::npos) << r.output;
}

// What llama.cpp's llama architecture cannot hold is refused by name, and nothing is written.
TEST(GgufExportRefuses, FeaturesOutsideLlamaAndOutputsThatAreNotFiles) {
  MIXQ_REQUIRE_FILE(test::repo_model_path("stories260K/stories260K.bin"));
  test::TempDir dir;
  io::Checkpoint ck = io::load_checkpoint(test::repo_model_path("stories260K/stories260K.bin"));
  ck.config.sliding_window = 16;
  try {
    io::save_gguf(ck, dir / "x.gguf", io::DType::F32);
    ADD_FAILURE() << "a sliding window was exported";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("sliding attention window"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "x.gguf"));
  const auto r = test::run_mixq("convert -m " + test::repo_model_path("stories260K/stories260K.bin") + " --to gguf -o " +
                                dir.path().string());
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("-o"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace mixq
