// The mixq binary end to end: bad input gives one clear line and a non-zero exit, never a crash.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <regex>

#include <nlohmann/json.hpp>

#include "mixq/io/mapped_file.hpp"
#include "cli_run.hpp"
#include "test_paths.hpp"

namespace mixq {
namespace {

using test::expect_clean_error;
using test::Run;
using test::run_mixq;

const std::string kModel = test::repo_model_path("stories260K/stories260K.bin");

}  // namespace

TEST(Cli, EvalPrintsBothProtocols) {
  test::TempDir dir;
  std::ofstream(dir / "t.txt") << std::string(4000, 'a') + " Once upon a time there was a cat.";
  const auto r = run_mixq("eval -m " + kModel + " --text " + (dir / "t.txt") + " --ctx 64 --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("\"protocol\": \"gptq\""), std::string::npos);
  EXPECT_NE(r.output.find("\"protocol\": \"llamacpp\""), std::string::npos);
}

TEST(Cli, RunGeneratesText) {
  const auto r = run_mixq("run -m " + kModel + " -n 20 -t 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output.rfind("Once upon a time", 0), 0u) << r.output;
  EXPECT_NE(r.output.find("tok/s"), std::string::npos);
}

TEST(Cli, TruncatedCheckpoint) {
  test::TempDir dir;
  std::ofstream(dir / "m.bin", std::ios::binary) << std::string(1000, '\x01');
  expect_clean_error(run_mixq("run -m " + (dir / "m.bin") + " --tokenizer " + test::repo_model_path("stories260K/tok512.bin")),
                     "m.bin");
}

TEST(Cli, MissingModel) { expect_clean_error(run_mixq("run -m /no/such/model.bin"), "/no/such/model.bin: no such file"); }

TEST(Cli, EmptyEvaluationText) {
  test::TempDir dir;
  std::ofstream(dir / "empty.txt").flush();
  expect_clean_error(run_mixq("eval -m " + kModel + " --text " + (dir / "empty.txt")), "evaluation text: is empty");
}

TEST(Cli, ContextLargerThanModel) {
  test::TempDir dir;
  std::ofstream(dir / "t.txt") << "Once upon a time.";
  expect_clean_error(run_mixq("eval -m " + kModel + " --text " + (dir / "t.txt") + " --ctx 4096"),
                     "larger than the model's context length 512");
}

TEST(Cli, SafetensorsHeaderPastEof) {
  test::TempDir dir;
  std::ofstream(dir / "hf/config.json").flush();
  std::filesystem::create_directories(dir / "hf");
  std::ofstream(dir / "hf/config.json")
      << R"({"hidden_size":64,"intermediate_size":172,"num_hidden_layers":5,"num_attention_heads":8,)"
         R"("num_key_value_heads":4,"vocab_size":512,"max_position_embeddings":512})";
  std::ofstream f(dir / "hf/model.safetensors", std::ios::binary);
  const uint64_t n = 1 << 20;
  f.write(reinterpret_cast<const char*>(&n), 8);
  f << "{}";
  f.close();
  expect_clean_error(run_mixq("run -m " + (dir / "hf") + " --tokenizer " + test::repo_model_path("stories260K/tok512.bin")),
                     "runs past end of file");
}

TEST(Cli, ConfigWithImpossibleValues) {
  test::TempDir dir;
  std::filesystem::create_directories(dir / "hf");
  std::ofstream(dir / "hf/config.json")
      << R"({"hidden_size":64,"intermediate_size":172,"num_hidden_layers":5,"num_attention_heads":6,)"
         R"("vocab_size":512,"max_position_embeddings":512})";
  expect_clean_error(run_mixq("run -m " + (dir / "hf")), "dim 64 is not a multiple of n_heads 6");
}

TEST(Cli, MissingTensorInHfDirectory) {
  test::TempDir dir;
  ASSERT_EQ(run_mixq("convert -m " + kModel + " -o " + (dir / "hf")).exit_code, 0);
  // Rewrite the safetensors without one tensor by converting, then dropping it with a tiny header edit
  // is awkward; instead point a config with more layers at the same weights.
  std::ofstream(dir / "hf/config.json")
      << R"({"hidden_size":64,"intermediate_size":172,"num_hidden_layers":6,"num_attention_heads":8,)"
         R"("num_key_value_heads":4,"vocab_size":512,"max_position_embeddings":512,"tie_word_embeddings":true})";
  expect_clean_error(run_mixq("run -m " + (dir / "hf")), "missing tensor 'model.layers.5.input_layernorm.weight'");
}

TEST(Cli, BadArgumentsGiveUsageError) {
  const auto r = run_mixq("run -m " + kModel + " --top-p 2");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("top-p"), std::string::npos) << r.output;
}

}  // namespace mixq

namespace mixq {

TEST(Cli, BenchPrintsSpeedBesideMeasuredBandwidth) {
  const auto r = run_mixq("bench -m " + kModel + " -t 1 --prompt-tokens 32 --decode-tokens 8");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("decode "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("memory read bandwidth"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("% of it"), std::string::npos) << r.output;
}

}  // namespace mixq

namespace mixq {
namespace {

// A calibration / evaluation text long enough for a few 64-token windows of stories260K.
std::string story_text(int repeats) {
  std::string s;
  for (int i = 0; i < repeats; ++i)
    s += "Once upon a time, there was a little girl named Lily. She loved to play outside with her dog. "
         "One day, they found a big red ball in the park and played until the sun went down.\n\n";
  return s;
}

}  // namespace

TEST(Cli, QuantizeThenInspectEvalAndRunTheFile) {
  test::TempDir dir;
  std::ofstream(dir / "calib.txt") << story_text(40);
  const std::string q = dir / "q.safetensors";
  auto r = run_mixq("quantize -q -m " + kModel + " --method gptq --bits 3 --group 32 --calib " + (dir / "calib.txt") +
                    " --calib-samples 8 --calib-len 64 -o " + q + " --export-f16 " + (dir / "hf"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("bits/weight"), std::string::npos) << r.output;
  EXPECT_TRUE(std::filesystem::exists(dir / "hf/model.safetensors"));
  EXPECT_TRUE(std::filesystem::exists(dir / "hf/tokenizer.bin"));

  r = run_mixq("inspect " + q);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("model.layers.4.mlp.down_proj.weight"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"spec\":\"gptq:3:32\""), std::string::npos) << r.output;
  r = run_mixq("inspect --json " + q);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("\"code_histogram\""), std::string::npos);
  r = run_mixq("inspect --verify " + q);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("match their checksums"), std::string::npos) << r.output;
  const std::string damaged = dir / "damaged.safetensors";
  std::filesystem::copy_file(q, damaged);
  {  // one byte of the copy's last tensor data flipped in place: --verify names the damage
    std::fstream f(damaged, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(-3, std::ios::end);
    const char c = char(f.get() ^ 0x01);
    f.seekp(-3, std::ios::end);
    f.put(c);
  }
  r = run_mixq("inspect --verify " + damaged);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("DAMAGED"), std::string::npos) << r.output;
  expect_clean_error(run_mixq("eval -m " + damaged + " --text " + (dir / "calib.txt") + " --ctx 64"), "is corrupted");

  std::ofstream(dir / "eval.txt") << story_text(10);
  r = run_mixq("eval -m " + q + " --text " + (dir / "eval.txt") + " --ctx 64");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("ppl "), std::string::npos);
  r = run_mixq("run -m " + q + " -n 10 -t 1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("tok/s"), std::string::npos);
}

TEST(Cli, CompareWritesOneTableAsTextJsonAndCsv) {
  test::TempDir dir;
  std::ofstream(dir / "calib.txt") << story_text(40);
  std::ofstream(dir / "eval.txt") << story_text(10);
  const auto r = run_mixq("compare -q -m " + kModel + " --configs rtn:4:32,gptq:2:32+act-order --calib " +
                          (dir / "calib.txt") + " --calib-samples 8 --calib-len 64 --text " + (dir / "eval.txt") +
                          " --ctx 64 --max-windows 3 --json " + (dir / "t.json") + " --csv " + (dir / "t.csv") +
                          " --plot " + (dir / "t.svg"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* row : {"fp32", "rtn:4:32", "gptq:2:32+act-order", "uniform b2 g32 asym", "top-1"})
    EXPECT_NE(r.output.find(row), std::string::npos) << row << "\n" << r.output;
  const auto json = io::read_whole_file(dir / "t.json");
  EXPECT_NE(json.find("\"config\": \"gptq:2:32+act-order\""), std::string::npos) << json;
  // Bits over every byte of the file, beside the decoder linears' bits: the same parameter count
  // for every row, fp32's a little above 32 (llama2.c's file also holds RoPE tables), a quantized
  // file's above its linears' (its embedding stays F32).
  const auto rows = nlohmann::json::parse(json);
  ASSERT_EQ(rows.size(), 3u);
  const double per_mb = rows[0]["file_bits_per_weight"].get<double>() / rows[0]["file_mb"].get<double>();
  EXPECT_GE(rows[0]["file_bits_per_weight"].get<double>(), 32.0);
  EXPECT_LT(rows[0]["file_bits_per_weight"].get<double>(), 34.0);
  for (const auto& row : rows) {
    EXPECT_NEAR(row["file_bits_per_weight"].get<double>() / row["file_mb"].get<double>(), per_mb, 1e-9 * per_mb);
    EXPECT_GT(row["file_bits_per_weight"].get<double>(), row["bits_per_weight"].get<double>() - 1e-9) << row.dump();
  }
  EXPECT_NE(r.output.find("file bpw"), std::string::npos);
  const auto csv = io::read_whole_file(dir / "t.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 4) << csv;
  const auto svg = io::read_whole_file(dir / "t.svg");
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  for (const char* part : {">rtn<", ">gptq<", "fp32 ", "gptq:2:32+act-order "})  // legend, fp32 line, point titles
    EXPECT_NE(svg.find(part), std::string::npos) << part;
}

TEST(Cli, QuantizeBadInputGivesClearErrors) {
  test::TempDir dir;
  std::ofstream(dir / "short.txt") << "Once upon a time.";
  const std::string base = "quantize -q -m " + kModel + " -o " + (dir / "q.safetensors") + " ";
  auto r = run_mixq(base + "--bits 5");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--bits"), std::string::npos) << r.output;
  r = run_mixq(base + "--group -4");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--group"), std::string::npos) << r.output;
  expect_clean_error(run_mixq(base + "--method gptq"), "calibration text");
  expect_clean_error(run_mixq(base + "--method gptq --calib " + (dir / "short.txt") + " --calib-len 64"),
                     "shorter than one window of 64");
  expect_clean_error(run_mixq("compare -m " + kModel + " --configs gptq:5:128 --text " + (dir / "short.txt")),
                     "bits must be 2, 3, 4 or 8");
  expect_clean_error(run_mixq("compare -m " + kModel + " --configs gptq:4:0 --text " + (dir / "short.txt")),
                     "group size must be a positive integer");
  expect_clean_error(run_mixq(base + "--method slim --bits 8"), "target bits N must be 2…7");
  expect_clean_error(run_mixq(base + "--method fineq-rtn --sym"), "unknown flag --sym");  // the flag is named
  expect_clean_error(run_mixq(base + "--method fineq-rtn --bits 3"), "--bits");
  std::ofstream(dir / "calib.txt") << story_text(40);
  expect_clean_error(run_mixq(base + "--method slim --group 128 --calib-len 64 --calib " + (dir / "calib.txt")),
                     "larger than the row");
  r = run_mixq(base + "--method gptq --compat official");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--compat"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "q.safetensors"));
}

// SliM-LLM from the command line: -v logs each linear's group widths and SBA's p, inspect shows
// them, the published recipe is one switch away, and the file evaluates.
TEST(Cli, QuantizeSlimLogsTheBitMapAndInspectShowsIt) {
  test::TempDir dir;
  std::ofstream(dir / "calib.txt") << story_text(40);
  const std::string q = dir / "s.safetensors";
  const std::string calib = " --calib " + (dir / "calib.txt") + " --calib-samples 8 --calib-len 64";
  auto r = run_mixq("quantize -q -v -m " + kModel + " --method slim --bits 2 --group 32" + calib + " -o " + q);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("model.layers.4.mlp.down_proj.weight"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("widths "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("(p = "), std::string::npos) << r.output;
  // ... and where each layer's time went.
  for (int l = 0; l < 5; ++l) {
    const std::regex times("layer " + std::to_string(l) + R"(: calibration forward [0-9.]+ s, Hessians [0-9.]+ s, )"
                           R"(input scoring [0-9.]+ s, solve [0-9.]+ s, output forward [0-9.]+ s)");
    EXPECT_TRUE(std::regex_search(r.output, times)) << "layer " << l << "\n" << r.output;
  }
  r = run_mixq("inspect " + q);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("\"spec\":\"slim:2:32\""), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("1b:"), std::string::npos) << r.output;
  r = run_mixq("quantize -q -m " + kModel + " --method slim --bits 3 --group 32 --compat official" + calib + " -o " + q);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("slim:3:32+official"), std::string::npos) << r.output;
  std::ofstream(dir / "eval.txt") << story_text(10);
  r = run_mixq("eval -m " + q + " --text " + (dir / "eval.txt") + " --ctx 64");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("ppl "), std::string::npos);
}

// mixq simulate: the table, the JSON report, the three charts; a non-FineQ file and a bad array
// shape are refused.
TEST(Cli, SimulateWritesTableJsonAndCharts) {
  test::TempDir dir;
  std::ofstream(dir / "prompt.txt") << story_text(5);
  const std::string q = dir / "f.safetensors";
  auto r = run_mixq("quantize -q -m " + kModel + " --method fineq-rtn -o " + q);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string base = "simulate -m " + q + " --text " + (dir / "prompt.txt") + " --tokens 32";
  r = run_mixq(base + " --array 16x8 --json " + (dir / "sim.json") + " --plot-dir " + (dir / "plots") +
               " --dump-config " + (dir / "cfg.json"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("whole model"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("PE-array area"), std::string::npos) << r.output;
  const auto j = nlohmann::json::parse(io::read_whole_file(dir / "sim.json"));
  EXPECT_EQ(j.at("config").at("rows"), 16);
  EXPECT_EQ(j.at("model").size(), 3u);
  for (const char* svg : {"energy.svg", "area.svg", "cycles.svg"})
    EXPECT_NE(io::read_whole_file(dir / (std::string("plots/") + svg)).find("<svg"), std::string::npos) << svg;
  // The dumped configuration loads back, and a damaged one is refused with the reason.
  r = run_mixq(base + " --layers 0 --pe select --dataflow os --config " + (dir / "cfg.json"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("output-stationary"), std::string::npos) << r.output;
  std::ofstream(dir / "neg.json") << R"({"energy": {"dram_byte": -1}})";
  expect_clean_error(run_mixq(base + " --config " + (dir / "neg.json")), "must be ≥ 0");
  expect_clean_error(run_mixq(base + " --array 0x32"), "at least 1×1");
  expect_clean_error(run_mixq(base + " --array big"), "expected ROWSxCOLS");
  expect_clean_error(run_mixq(base + " --pe tpu"), "unknown PE model");
  expect_clean_error(run_mixq(base + " --layers 9"), "outside");
  const std::string g = dir / "g.safetensors";
  ASSERT_EQ(run_mixq("quantize -q -m " + kModel + " --method rtn --bits 4 -o " + g).exit_code, 0);
  expect_clean_error(run_mixq("simulate -m " + g + " --text " + (dir / "prompt.txt")), "runs FineQ layers");
}

}  // namespace mixq
