// Every parser meets damaged copies of a real file: bits flipped across the file (densest in the
// header, where a flip changes structure) and cuts at many lengths. Each copy either loads or is
// refused with a mixq::Error; nothing else (a crash, another exception type, a hang) is allowed,
// and under ASan no read strays. A quantized file is refused for every single flipped bit: its
// checksums cover the header and every tensor. Grows with each new input type.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "mixq/accel/accel_config.hpp"
#include "mixq/core/error.hpp"
#include "mixq/io/checkpoint.hpp"
#include "mixq/io/hf_checkpoint.hpp"
#include "mixq/io/mapped_file.hpp"
#include "mixq/quant/methods/method.hpp"
#include "mixq/quant/model_file.hpp"
#include "mixq/quant/pipeline.hpp"
#include "test_paths.hpp"

namespace mixq {
namespace {

namespace fs = std::filesystem;

struct Outcome {
  int loaded = 0, refused = 0;
};

// Positions to damage: every byte of the first `dense` bytes, then `spread` more spread evenly
// over the rest of the file.
std::vector<size_t> damage_positions(size_t size, size_t dense, size_t spread) {
  std::vector<size_t> at;
  for (size_t i = 0; i < std::min(size, dense); ++i) at.push_back(i);
  if (size > dense)
    for (size_t k = 0; k < spread; ++k) at.push_back(dense + (size - dense) * k / spread);
  return at;
}

// Writes each damaged copy of `original` to `path` and calls `load(path)`.
Outcome sweep(const std::string& original, const std::string& path, size_t dense, size_t spread,
              const std::function<void(const std::string&)>& load) {
  Outcome o;
  auto attempt = [&](const std::string& bytes, const std::string& what) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
    try {
      load(path);
      ++o.loaded;
    } catch (const Error&) {
      ++o.refused;
    } catch (const std::exception& e) {
      ADD_FAILURE() << what << ": not a mixq::Error: " << e.what();
    }
  };
  for (size_t at : damage_positions(original.size(), dense, spread)) {
    std::string bytes = original;
    bytes[at] = char(bytes[at] ^ (1 << (at % 8)));
    attempt(bytes, "bit flipped at byte " + std::to_string(at));
  }
  for (size_t k = 0; k < 16; ++k) attempt(original.substr(0, original.size() * k / 16), "cut at " + std::to_string(k) + "/16");
  return o;
}

}  // namespace

TEST(DamageSweep, EveryParserRefusesDamageWithAnErrorOrLoads) {
  test::TempDir dir;
  const std::string model = test::repo_model_path("stories260K/stories260K.bin");
  const std::string tok = test::repo_model_path("stories260K/tok512.bin");
  const std::string sp = test::shared_path("models/llama2-tokenizer-32k/tokenizer.model");
  MIXQ_REQUIRE_FILE(sp);
  fs::copy_file(tok, dir / "tok512.bin");
  io::Checkpoint ck = io::load_checkpoint(model);
  io::save_hf_dir(ck, dir / "hf", io::DType::F16);
  int cases = 0;
  auto run = [&](const char* name, const std::string& source, const std::string& path, size_t dense, size_t spread,
                 const std::function<void(const std::string&)>& load) {
    const Outcome o = sweep(io::read_whole_file(source), path, dense, spread, load);
    cases += o.loaded + o.refused;
    std::printf("%-28s %4d damaged copies: %4d refused with an error, %4d loaded\n", name, o.loaded + o.refused,
                o.refused, o.loaded);
    return o;
  };
  run("llama2.c checkpoint", model, dir / "m.bin", 28, 200, [](const std::string& p) { io::load_checkpoint(p); });
  run("llama2.c tokenizer", tok, dir / "t.bin", 64, 200, [](const std::string& p) { io::load_tokenizer(p); });
  run("sentencepiece tokenizer", sp, dir / "t.model", 64, 100, [](const std::string& p) { io::load_tokenizer(p); });
  const std::string cfg = dir / "hf/config.json";
  run("HF config.json", cfg, dir / "config.json", 1u << 20, 0,
      [](const std::string& p) { io::parse_hf_config(io::read_whole_file(p), p); });
  const std::string weights = dir / "hf/model.safetensors", weights_copy = dir / "hf-weights.safetensors";
  fs::copy_file(weights, weights_copy);
  run("HF model.safetensors", weights_copy, weights, 600, 100, [&](const std::string&) { io::load_checkpoint(dir / "hf"); });
  run("accelerator config JSON", test::repo_model_path("../docs/results/accel_config_mult8x8.json"), dir / "accel.json",
      1u << 20, 0, [](const std::string& p) { accel::AccelConfig::load(p).validate(); });

  // The quantized file: every flipped bit anywhere is refused, so nothing damaged ever runs.
  const std::string qf = dir / "q.safetensors";
  quant::MethodOptions o = quant::parse_method_spec("rtn:3:32");
  io::Checkpoint fresh = io::load_checkpoint(model);
  model::LlamaModel m = model::LlamaModel::from_checkpoint(fresh, 1);
  const auto record = quant::quantize_with_record(m, {}, o);
  quant::save_quantized_model(qf, m, *fresh.tokenizer, record);
  const Outcome q = run("mixq quantized file", qf, dir / "bad.safetensors", 1500, 300,
                        [](const std::string& p) { quant::load_quantized_model(p, 1); });
  EXPECT_EQ(q.loaded, 0) << "a damaged quantized file loaded";
  std::printf("%d damaged inputs in all\n", cases);
  EXPECT_GT(cases, 2500);
}

}  // namespace mixq
