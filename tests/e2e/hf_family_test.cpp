// The Hugging Face families users quantize (Llama-3.x, Qwen2/2.5, Qwen3, Mistral): a tiny random
// checkpoint with each family's real config.json keys, written by an independent NumPy reference
// (tests/reference/hf_family_reference.py, transformers' forward pass in its own HF layout), must
// give the reference's per-position logits; survive `mixq convert` unchanged; and quantize with
// every method into a file that keeps what the family adds (biases, q/k norms, RoPE scaling).
#include <gtest/gtest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "cli_run.hpp"
#include "llamacpp_run.hpp"
#include "mixq/io/atomic_file.hpp"
#include "mixq/io/chat_template.hpp"
#include "mixq/io/gguf.hpp"
#include "mixq/io/hf_checkpoint.hpp"
#include "mixq/io/mapped_file.hpp"
#include "mixq/io/safetensors.hpp"
#include "mixq/io/synth_checkpoint.hpp"
#include "mixq/model/llama.hpp"
#include "mixq/quant/model_file.hpp"
#include "test_paths.hpp"

namespace mixq {
namespace {

using nlohmann::json;

struct Reference {
  std::vector<int> tokens;
  std::vector<float> logits;  // [position][vocab]
};

// Writes the family's checkpoint into dir (config.json, model.safetensors, the small tokenizer).
Reference write_family(const std::string& family, const std::string& dir) {
  std::filesystem::create_directories(dir);
  const auto r = test::run_command("/usr/bin/python3 " MIXQ_SOURCE_DIR "/tests/reference/hf_family_reference.py " + family +
                                   " " + dir + " " MIXQ_SOURCE_DIR "/tests/data/tiny_tokenizer.json " MIXQ_SOURCE_DIR
                                   "/tests/data/tiny_tokenizer_config.json");
  if (r.exit_code != 0) ADD_FAILURE() << "the reference failed (Debian's python3-numpy needed):\n" << r.output;
  Reference ref;
  if (r.exit_code != 0) return ref;
  const json j = json::parse(io::read_whole_file(dir + "/reference.json"));
  ref.tokens = j.at("tokens").get<std::vector<int>>();
  for (const auto& row : j.at("logits"))
    for (double v : row) ref.logits.push_back(float(v));
  return ref;
}

using test::logits_of, test::max_abs_diff;

// ‖a − b‖² / ‖b‖²: how much of the logits a quantized model loses.
double relative_error(const std::vector<float>& a, const std::vector<float>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num += double(a[i] - b[i]) * double(a[i] - b[i]);
    den += double(b[i]) * double(b[i]);
  }
  return num / den;
}

}  // namespace

class HfFamily : public ::testing::TestWithParam<const char*> {};

TEST_P(HfFamily, LogitsMatchTheIndependentReference) {
  test::TempDir dir;
  const Reference ref = write_family(GetParam(), dir / "");
  ASSERT_FALSE(ref.tokens.empty());
  const io::StoredCheckpoint ck = io::open_checkpoint(dir / "");  // finds tokenizer.json beside it
  EXPECT_STREQ(ck.tokenizer->kind(), "hf-tokenizer");
  EXPECT_LT(ck.tokenizer->vocab_size(), ck.config.vocab_size);  // the padded embedding is allowed
  model::LlamaModel m = model::LlamaModel::from_stored(ck, 2);
  const float batch = max_abs_diff(logits_of(m, ref.tokens), ref.logits);
  EXPECT_LE(batch, 1e-3f);

  // The same logits a token at a time through the KV cache (prefill of 5, then decode steps):
  // the sliding window and scaled RoPE must hold at every cached position.
  const size_t V = size_t(m.config().vocab_size), n = ref.tokens.size();
  model::KvCache cache(m.config(), int(n));
  std::vector<float> all(n * V), last(V);
  m.forward(std::span(ref.tokens).first(5), 0, cache, all.data());
  for (size_t t = 5; t < n; ++t) {
    m.forward(std::span(ref.tokens).subspan(t, 1), int(t), cache, last.data(), false);
    std::copy(last.begin(), last.end(), all.begin() + long(t * V));
  }
  const float cached = max_abs_diff(all, ref.logits);
  EXPECT_LE(cached, 1e-3f);
  float largest = 0.f;
  for (float v : ref.logits) largest = std::max(largest, std::fabs(v));
  // scripts/hf_families.sh collects these lines into docs/results/hf_families.txt.
  std::printf("family %-12s positions %zu  max |logit| %.3f  max |Δlogit| batch %.2e  cached %.2e\n", GetParam(), n,
              double(largest), double(batch), double(cached));
}

TEST_P(HfFamily, ConvertWritesADirectoryThatLoadsBackIdentically) {
  test::TempDir dir;
  const Reference ref = write_family(GetParam(), dir / "src");
  ASSERT_FALSE(ref.tokens.empty());
  const auto r = test::run_mixq("convert -m " + dir / "src" + " -o " + dir / "out");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* f : {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"})
    EXPECT_TRUE(std::filesystem::exists(dir / ("out/" + std::string(f)))) << f;
  const io::StoredCheckpoint a = io::open_checkpoint(dir / "src"), b = io::open_checkpoint(dir / "out");
  EXPECT_EQ(io::hf_config_json(a.config, io::DType::F32), io::hf_config_json(b.config, io::DType::F32));
  EXPECT_EQ(b.tokenizer->file_bytes(), a.tokenizer->file_bytes());
  model::LlamaModel ma = model::LlamaModel::from_stored(a, 2), mb = model::LlamaModel::from_stored(b, 2);
  EXPECT_EQ(logits_of(ma, ref.tokens), logits_of(mb, ref.tokens));  // F32, rows permuted both ways: bit-identical
}

TEST_P(HfFamily, EveryMethodQuantizesIt) {
  test::TempDir dir;
  const Reference ref = write_family(GetParam(), dir / "src");
  ASSERT_FALSE(ref.tokens.empty());
  const std::string calib = test::shared_path("data/tinystories/tinystories_valid_head.txt");
  MIXQ_REQUIRE_FILE(calib);
  struct Case {
    const char* args;
    bool calibrated;
    double max_error;  // of the logits, relative (random weights have no outliers to exploit)
  };
  const std::string calib_args = " --calib " + calib + " --calib-samples 4 --calib-len 64";
  for (const Case& c : {Case{"--method rtn --bits 8 --group 32", false, 1e-3}, Case{"--method rtn --bits 4 --group 32", false, 0.1},
                        Case{"--method gptq --bits 4 --group 32", true, 0.1}, Case{"--method slim --bits 4 --group 32", true, 0.1},
                        Case{"--method fineq-rtn", false, 0.5}, Case{"--method fineq-gptq", true, 0.5}}) {
    SCOPED_TRACE(c.args);
    const std::string out = dir / "q.safetensors";
    std::filesystem::remove(out);
    const auto r = test::run_mixq("quantize -q -m " + dir / "src" + " " + c.args + (c.calibrated ? calib_args : "") +
                                  " -o " + out);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    quant::QuantizedModel q = quant::load_quantized_model(out, 2);
    const double err = relative_error(logits_of(*q.model, ref.tokens), ref.logits);
    EXPECT_LE(err, c.max_error);
    std::printf("%s: relative logit error %.2e\n", c.args, err);
    EXPECT_STREQ(q.tokenizer->kind(), "hf-tokenizer");
    const auto e = test::run_mixq("eval -m " + out + " --text " + calib + " --ctx 64 --max-windows 4 --json");
    EXPECT_EQ(e.exit_code, 0) << e.output;
  }
}

// GGUF export in llama.cpp's architecture for the family ("llama" for Llama-3 and linear scaling,
// "qwen2" with q/k/v biases, "qwen3" with q/k norms; Mistral's sliding window is refused by name):
// the file holds q/k rows where llama.cpp's converter puts them (HF's order for Qwen's rotate-half
// RoPE, so the bytes of the HF tensors), reads back as the same model, and llama.cpp computes
// mixq's logits on it. The tokenizer.json here has a pre-tokenizer llama.cpp does not name, so a
// llama2.c vocabulary of the model's size stands in for it.
TEST_P(HfFamily, GgufExportReadsBackAndComputesInLlamaCppAsInMixq) {
  test::TempDir dir;
  const Reference ref = write_family(GetParam(), dir / "src");
  ASSERT_FALSE(ref.tokens.empty());
  io::Checkpoint ck = io::load_checkpoint(dir / "src");
  io::write_file_atomic(dir / "tokenizer.bin", io::synth_tokenizer_bytes(ck.config.vocab_size));
  ck.tokenizer = io::load_tokenizer(dir / "tokenizer.bin");
  const std::string gguf = dir / "m.gguf";
  if (std::string(GetParam()) == "mistral") {
    EXPECT_THROW(io::save_gguf(ck, gguf, io::DType::F32), Error);
    return;
  }
  io::save_gguf(ck, gguf, io::DType::F32);
  const std::string family = GetParam();
  const std::string arch = family.rfind("qwen", 0) == 0 ? family : "llama";
  const io::GgufFile f(gguf);
  EXPECT_EQ(f.get_string("general.architecture"), arch);
  const io::SafetensorsFile hf(dir / "src/model.safetensors");
  for (const auto& t : f.tensors()) {
    const std::string hf_name = t.name == "blk.0.attn_q.weight" ? "model.layers.0.self_attn.q_proj.weight"
                                : t.name == "blk.0.attn_k.bias"  ? "model.layers.0.self_attn.k_proj.bias"
                                : t.name == "blk.0.attn_k_norm.weight" ? "model.layers.0.self_attn.k_norm.weight"
                                                                       : "";
    if (hf_name.empty() || arch == "llama") continue;
    const io::SafetensorsEntry* e = hf.find(hf_name);
    ASSERT_NE(e, nullptr) << hf_name;
    EXPECT_TRUE(std::equal(t.bytes.begin(), t.bytes.end(), e->bytes.begin(), e->bytes.end())) << t.name;
  }
  const io::StoredCheckpoint back = io::open_checkpoint(gguf);
  EXPECT_EQ(back.config.architecture, ck.config.architecture);
  EXPECT_EQ(back.config.qkv_bias, ck.config.qkv_bias);
  EXPECT_EQ(back.config.qk_norm, ck.config.qk_norm);
  EXPECT_EQ(back.config.head_size(), ck.config.head_size());
  EXPECT_EQ(back.config.rope_scaling.type, ck.config.rope_scaling.type);
  model::LlamaModel from_gguf = model::LlamaModel::from_stored(back, 2);
  EXPECT_LE(max_abs_diff(logits_of(from_gguf, ref.tokens), ref.logits), 1e-3f);

  ASSERT_FALSE(test::prebuilt_dir().empty()) << "scripts/llamacpp_prebuilt.sh failed (npm needed)";
  const std::string text = dir / "text.txt";
  io::write_file_atomic(text, "Once upon a time, there was a little girl named Lily. She liked to play outside in the sun.");
  const test::LlamaCppRun theirs = test::llamacpp_logits(gguf, text, 32, dir);
  const test::Agreement a = test::agreement(from_gguf, theirs);
  // Control: the model with its q/k rows in the other RoPE order is far from llama.cpp's logits.
  io::Checkpoint swapped = io::load_checkpoint(dir / "src");
  for (int l = 0; l < swapped.config.n_layers; ++l)
    for (const auto& [name, heads] : io::rope_permuted_tensors(swapped.config, l))
      swapped.at(name) = io::permute_rows_to_hf(swapped.at(name), heads);
  model::LlamaModel wrong = model::LlamaModel::from_checkpoint(swapped, 2);
  const float wrong_diff = test::agreement(wrong, theirs).max_abs_diff;
  EXPECT_LE(a.max_abs_diff, 0.05f);  // measured 0.0015-0.022: llama.cpp keeps K and V in F16
  EXPECT_GT(wrong_diff, 10 * a.max_abs_diff);
  EXPECT_EQ(a.top1, 1.0);
  std::printf("family %-12s llama.cpp %s: max |Δlogit| %.3g over %zu positions (q/k rows in the other order: %.3g)\n",
              GetParam(), arch.c_str(), double(a.max_abs_diff), theirs.ids.size() + 1, double(wrong_diff));

  // The GGUF quantized (a llama.cpp user's path), exported again with q/k rows as Q8_0 blocks,
  // which move with their rows: it reads back as the quantized file's weights. (The reading's row
  // order is the one llama.cpp confirmed above; llama.cpp's own logits on Q8_0 carry its Q8_0
  // activation rounding, 0.3-0.4 here on random weights, too coarse to tell row orders apart.)
  const std::string q = dir / "q.safetensors", qg = dir / "q.gguf";
  auto r = test::run_mixq("quantize -q -m " + gguf + " --method rtn --bits 8 --group 32 --sym -o " + q);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = test::run_mixq("convert -m " + q + " --to gguf -o " + qg);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  quant::QuantizedModel qm = quant::load_quantized_model(q, 2);
  model::LlamaModel q_from_gguf = model::LlamaModel::from_stored(io::open_checkpoint(qg), 2);
  EXPECT_LE(max_abs_diff(logits_of(q_from_gguf, ref.tokens), logits_of(*qm.model, ref.tokens)), 1e-4f);
}

INSTANTIATE_TEST_SUITE_P(Families, HfFamily, ::testing::Values("llama3", "llama-linear", "qwen2", "qwen3", "mistral"),
                         [](const auto& info) {
                           std::string s = info.param;
                           std::replace(s.begin(), s.end(), '-', '_');
                           return s;
                         });

// Qwen's tokenizer adds no BOS: the prompt's first token is text, and `run` must print it.
TEST(HfFamilyRun, APromptWithoutBosIsEchoedWhole) {
  test::TempDir dir;
  ASSERT_FALSE(write_family("qwen3", dir / "m").tokens.empty());
  json tok = json::parse(io::read_whole_file(dir / "m/tokenizer.json"));
  tok["post_processor"] = nullptr;
  io::write_file_atomic(dir / "m/tokenizer.json", tok.dump());
  io::write_file_atomic(dir / "m/tokenizer_config.json", R"({"bos_token": null, "eos_token": "</s>"})");
  const auto r = test::run_mixq("run -m " + dir / "m" + " -p 'Once upon a time' -n 4 --temperature 0");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.rfind("Once upon a time", 0), 0u) << r.output;
  const auto empty = test::run_mixq("run -m " + dir / "m" + " -p '' -n 4");
  test::expect_clean_error(empty, "no BOS");
}

// `run --chat` renders the tokenizer's chat template (ChatML here) and prints only the reply;
// generation stops at any EOS config.json names (Llama-3's <|eot_id|>, Qwen's <|im_end|>).
TEST(HfFamilyRun, ChatUsesTheTemplateAndStopsAtTheConfigsEndOfTurn) {
  test::TempDir dir;
  ASSERT_FALSE(write_family("qwen2", dir / "m").tokens.empty());
  const std::string run = "run -m " + dir / "m" + " -n 6 --temperature 0 ";
  test::expect_clean_error(test::run_mixq(run + "--chat -p Hi"), "no chat_template");
  json config = {{"bos_token", nullptr}, {"eos_token", "</s>"},
                 {"chat_template", "{% for m in messages %}{{ '<s>' + m.role + '\n' + m.content + '</s>\n' }}{% endfor %}"
                                   "{% if add_generation_prompt %}{{ '<s>assistant\n' }}{% endif %}"}};
  io::write_file_atomic(dir / "m/tokenizer_config.json", config.dump());
  const auto r = test::run_mixq(run + "--chat --system 'Be brief.' -p 'Hi there'");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.find("Hi there"), std::string::npos) << r.output;  // the reply only
  const io::StoredCheckpoint chat_ck = io::open_checkpoint(dir / "m");
  const std::string text = io::apply_chat_template(
      *chat_ck.tokenizer, json::array({{{"role", "system"}, {"content", "Be brief."}}, {{"role", "user"}, {"content", "Hi there"}}}));
  EXPECT_EQ(text, "<s>system\nBe brief.</s>\n<s>user\nHi there</s>\n<s>assistant\n");
  const size_t prompt_ids = chat_ck.tokenizer->encode(text, false).size();
  EXPECT_NE(r.output.find(fmt::format("prompt {} tokens", prompt_ids)), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("generated 6 tokens"), std::string::npos) << r.output;

  // The first token the model picks, made an EOS of config.json: generation stops before it.
  const io::StoredCheckpoint ck = io::open_checkpoint(dir / "m");
  model::LlamaModel m = model::LlamaModel::from_stored(ck, 1);
  auto ids = ck.tokenizer->encode("Once upon", true);
  std::vector<float> logits = logits_of(m, ids);
  const size_t V = size_t(ck.config.vocab_size), T = size_t(ck.tokenizer->vocab_size());
  const float* last = &logits[(ids.size() - 1) * V];
  const int first = int(std::max_element(last, last + T) - last);
  json cfg = json::parse(io::read_whole_file(dir / "m/config.json"));
  cfg["eos_token_id"] = {7777, first};
  io::write_file_atomic(dir / "m/config.json", cfg.dump());
  const auto stopped = test::run_mixq(run + "-p 'Once upon'");
  ASSERT_EQ(stopped.exit_code, 0) << stopped.output;
  EXPECT_NE(stopped.output.find("generated 0 tokens"), std::string::npos) << stopped.output;
}

// `mixq synth` writes the families' shapes (biases, q/k norms, scaled RoPE, wide heads) for scale
// runs; cut down to one small layer each, they load, quantize and run.
TEST(HfFamilySynth, FamilyShapesQuantizeAndRun) {
  for (const char* shape : {"llama3.1-8b", "qwen2.5-7b", "qwen3-8b"}) {
    SCOPED_TRACE(shape);
    test::TempDir dir;
    const auto s = test::run_mixq(fmt::format("synth --shape {} --layers 1 --dim 128 --hidden 256 --heads 4 --kv-heads 2 "
                                              "--vocab 300 --ctx 256 --dtype F32 -o {}", shape, dir / "m"));
    ASSERT_EQ(s.exit_code, 0) << s.output;
    const io::StoredCheckpoint ck = io::open_checkpoint(dir / "m");
    EXPECT_EQ(ck.config.qkv_bias, std::string(shape) == "qwen2.5-7b");
    EXPECT_EQ(ck.config.qk_norm, std::string(shape) == "qwen3-8b");
    const auto q = test::run_mixq("quantize -q -m " + dir / "m" + " --method rtn --bits 4 --group 32 -o " + dir / "q.safetensors");
    ASSERT_EQ(q.exit_code, 0) << q.output;
    const auto r = test::run_mixq("run -m " + dir / "q.safetensors" + " -p 'Hello' -n 4 --temperature 0");
    EXPECT_EQ(r.exit_code, 0) << r.output;
  }
}

TEST(HfFamilyConfig, RefusesWhatItDoesNotImplementByName) {
  const json base = {{"architectures", {"LlamaForCausalLM"}}, {"hidden_size", 64}, {"intermediate_size", 192},
                     {"num_hidden_layers", 2}, {"num_attention_heads", 4}, {"vocab_size", 272},
                     {"max_position_embeddings", 512}};
  EXPECT_NO_THROW((void)io::parse_hf_config(base.dump(), "config.json"));
  auto refused = [&](const char* key, const json& value, const char* needle) {
    json j = base;
    j[key] = value;
    try {
      (void)io::parse_hf_config(j.dump(), "config.json");
      ADD_FAILURE() << key << " = " << value.dump() << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  refused("architectures", {"GPT2LMHeadModel"}, "GPT2LMHeadModel");
  refused("architectures", {"Gemma2ForCausalLM"}, "supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM");
  refused("rope_scaling", {{"rope_type", "yarn"}, {"factor", 4.0}}, "yarn");
  refused("rope_scaling", {{"type", "dynamic"}, {"factor", 2.0}}, "dynamic");
  refused("rope_scaling", {{"rope_type", "linear"}, {"factor", 0.5}}, "factor");
  refused("rope_scaling", {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 4.0}, {"high_freq_factor", 1.0}},
          "low_freq_factor");
  refused("attention_bias", true, "attention_bias");
  refused("mlp_bias", true, "mlp_bias");
  refused("hidden_act", "gelu", "hidden_act");
  refused("partial_rotary_factor", 0.5, "partial_rotary_factor");
  refused("head_dim", 7, "head size 7 must be even");
  json qwen = base;
  qwen["architectures"] = {"Qwen2ForCausalLM"};
  qwen["use_sliding_window"] = true;
  EXPECT_THROW((void)io::parse_hf_config(qwen.dump(), "config.json"), Error);
  qwen["use_sliding_window"] = false;
  qwen["sliding_window"] = 4096;  // present in every Qwen config, inert while the switch is off
  EXPECT_EQ(io::parse_hf_config(qwen.dump(), "config.json").sliding_window, 0);
  EXPECT_TRUE(io::parse_hf_config(qwen.dump(), "config.json").qkv_bias);
}

TEST(HfFamilyConfig, Llama3RopeFrequenciesFollowTheScalingRule) {
  io::LlamaConfig c;
  c.dim = 4096, c.hidden_dim = 14336, c.n_layers = 1, c.n_heads = 32, c.n_kv_heads = 8, c.vocab_size = 128256;
  c.seq_len = 131072, c.rope_theta = 500000.f;
  const auto plain = io::rope_inv_freq(c);
  c.rope_scaling = {io::RopeScaling::Type::Llama3, 8.f, 1.f, 4.f, 8192, {}};
  const auto scaled = io::rope_inv_freq(c);
  ASSERT_EQ(scaled.size(), 64u);
  // Wavelengths under 8192 / 4 = 2048 positions are kept, over 8192 slowed 8×, the band between blended.
  for (size_t j = 0; j < 64; ++j) {
    const double wavelen = 2 * M_PI / plain[j];
    if (wavelen < 2048) {
      EXPECT_EQ(scaled[j], plain[j]) << j;
    } else if (wavelen > 8192) {
      EXPECT_FLOAT_EQ(scaled[j], plain[j] / 8.f) << j;
    } else {
      EXPECT_TRUE(scaled[j] < plain[j] && scaled[j] > plain[j] / 8.f) << j;
    }
  }
}

}  // namespace mixq
