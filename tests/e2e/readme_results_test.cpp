// The README's headline figures are the results files' figures: every number of the comparison
// tables and the accelerator table, as printed, is recomputed from docs/results/*.json. And the
// stories260K accelerator totals are regenerated at the README's settings and must equal the file.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "mixq/accel/model_sim.hpp"
#include "mixq/io/mapped_file.hpp"
#include "mixq/quant/pipeline.hpp"
#include "test_paths.hpp"

namespace mixq {
namespace {

using nlohmann::json;

std::string repo_file(const std::string& rel) { return test::repo_model_path("../" + rel); }
json results(const std::string& name) { return json::parse(io::read_whole_file(repo_file("docs/results/" + name))); }

// The README's table rows that start with `first_cell`, split into trimmed cells without ** marks.
std::vector<std::vector<std::string>> readme_rows(const std::string& header) {
  std::istringstream in(io::read_whole_file(repo_file("README.md")));
  std::vector<std::vector<std::string>> rows;
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(header)) {
      inside = true;
      continue;
    }
    if (!inside) continue;
    if (!line.starts_with("|")) break;
    if (line.starts_with("|---")) continue;
    std::vector<std::string> cells;
    std::string cell;
    std::istringstream cs(line.substr(1));
    while (std::getline(cs, cell, '|')) {
      std::string c;
      for (char ch : cell)
        if (ch != '*') c += ch;
      const size_t b = c.find_first_not_of(' '), e = c.find_last_not_of(' ');
      cells.push_back(b == std::string::npos ? "" : c.substr(b, e - b + 1));
    }
    rows.push_back(cells);
  }
  EXPECT_FALSE(rows.empty()) << "no table under " << header;
  return rows;
}

// `value` printed with as many decimals as `cell` shows (a trailing % or × is kept out).
void expect_printed(const std::string& cell, double value, const std::string& what) {
  std::string digits = cell;
  while (!digits.empty() && !std::isdigit(static_cast<unsigned char>(digits.back()))) digits.pop_back();
  const size_t dot = digits.find('.');
  const int decimals = dot == std::string::npos ? 0 : int(digits.size() - dot - 1);
  EXPECT_EQ(digits, fmt::format("{:.{}f}", value, decimals)) << what;
}

const json& row_of(const json& table, const std::string& config) {
  for (const auto& r : table)
    if (r.at("config") == config) return r;
  ADD_FAILURE() << "no row " << config;
  static const json none = json::object();
  return none;
}

// The README names some rows in words; the rest by their config's first word.
std::string config_of(const std::string& label) {
  if (label.starts_with("fineq-gptq, paper rule")) return "fineq-gptq:row+ratio+int2-twos";
  if (label.starts_with("fineq-gptq, mixq default")) return "fineq-gptq:row";
  return label.substr(0, label.find(' '));
}

}  // namespace

TEST(ReadmeResults, ComparisonTableIsTheResultsFiles) {
  const json tiny = results("tinystories5M.json"), small = results("stories260K.json");
  int checked = 0;
  for (const auto& c : readme_rows("| config | tinystories5M bpw | ppl | KL | top-1 | stories260K bpw | ppl |")) {
    ASSERT_EQ(c.size(), 7u);
    const std::string config = config_of(c[0]);
    const json &t = row_of(tiny, config), &s = row_of(small, config);
    expect_printed(c[1], t.at("bits_per_weight"), config + " tinystories5M bpw");
    expect_printed(c[2], t.at("ppl_gptq"), config + " tinystories5M ppl");
    expect_printed(c[3], t.at("kl"), config + " tinystories5M KL");
    expect_printed(c[4], 100 * t.at("top1").get<double>(), config + " tinystories5M top-1");
    expect_printed(c[5], s.at("bits_per_weight"), config + " stories260K bpw");
    expect_printed(c[6], s.at("ppl_gptq"), config + " stories260K ppl");
    ++checked;
  }
  EXPECT_EQ(checked, 7);
}

TEST(ReadmeResults, SlimTableIsTheResultsFiles) {
  const json tiny = results("slim_tinystories5M.json"), small = results("slim_stories260K.json");
  int checked = 0;
  for (const auto& c :
       readme_rows("| config | tinystories5M bpw | ppl | KL | top-1 | | config | stories260K bpw | ppl | KL |")) {
    ASSERT_EQ(c.size(), 10u);
    const std::string left = config_of(c[0]), right = config_of(c[6]);
    const json& t = row_of(tiny, left);
    expect_printed(c[1], t.at("bits_per_weight"), left);
    expect_printed(c[2], t.at("ppl_gptq"), left);
    expect_printed(c[3], t.at("kl"), left);
    expect_printed(c[4], 100 * t.at("top1").get<double>(), left);
    if (!right.empty()) {
      const json& s = row_of(small, right);
      expect_printed(c[7], s.at("bits_per_weight"), right);
      expect_printed(c[8], s.at("ppl_gptq"), right);
      expect_printed(c[9], s.at("kl"), right);
    }
    ++checked;
  }
  EXPECT_EQ(checked, 12);
}

TEST(ReadmeResults, TunedMethodsTablesAreTheResultsFiles) {
  const json small = results("slim_plus_stories260K.json"), tiny = results("slim_plus_tinystories5M.json");
  int checked = 0;
  for (const auto& c :
       readme_rows("| config | stories260K bpw | ppl | KL | | config | tinystories5M bpw | ppl | KL |")) {
    ASSERT_EQ(c.size(), 9u);
    const json &s = row_of(small, c[0]), &t = row_of(tiny, c[5]);
    expect_printed(c[1], s.at("bits_per_weight"), c[0]);
    expect_printed(c[2], s.at("ppl_gptq"), c[0]);
    expect_printed(c[3], s.at("kl"), c[0]);
    expect_printed(c[6], t.at("bits_per_weight"), c[5]);
    expect_printed(c[7], t.at("ppl_gptq"), c[5]);
    expect_printed(c[8], t.at("kl"), c[5]);
    ++checked;
  }
  EXPECT_EQ(checked, 12);
  const json fineq = results("fineq_plus_stories260K.json");
  checked = 0;
  for (const auto& c : readme_rows("| fineq config | stories260K bpw | ppl | KL |")) {
    ASSERT_EQ(c.size(), 4u);
    const json& r = row_of(fineq, c[0]);
    expect_printed(c[1], r.at("bits_per_weight"), c[0]);
    expect_printed(c[2], r.at("ppl_gptq"), c[0]);
    expect_printed(c[3], r.at("kl"), c[0]);
    ++checked;
  }
  EXPECT_EQ(checked, 4);
}

// Cycles, TOPS/W and all-in energy as ratios to the baseline PE, array area as a change.
// The llama.cpp interop table is the peer script's output, row for row.
namespace {

// The README table starting with `header` holds, word for word, the rows of the results file
// (its comment, continuation and column-name lines aside).
void expect_readme_table_is_file(const std::string& header, const std::string& file) {
  const auto rows = readme_rows(header);
  std::istringstream in(io::read_whole_file(repo_file(file)));
  std::vector<std::vector<std::string>> file_rows;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line.starts_with("#") || line.starts_with(" ") || line.starts_with("model ")) continue;
    std::istringstream cells(line);
    std::vector<std::string> row;
    for (std::string c; cells >> c;) row.push_back(c);
    file_rows.push_back(row);
  }
  ASSERT_EQ(rows.size(), file_rows.size()) << file;
  for (size_t i = 0; i < rows.size(); ++i) {
    std::vector<std::string> readme;  // each cell's words
    for (const std::string& cell : rows[i]) {
      std::istringstream words(cell);
      for (std::string w; words >> w;) readme.push_back(w);
    }
    EXPECT_EQ(readme, file_rows[i]) << file << " row " << i;
  }
}

}  // namespace

TEST(ReadmeResults, LlamaCppInteropTableIsTheResultsFile) {
  expect_readme_table_is_file("| model | dtype | ctx | llama-ppl |", "docs/results/gguf_vs_llamacpp.txt");
}

TEST(ReadmeResults, GgufImportTableIsTheResultsFile) {
  expect_readme_table_is_file("| model | type | ctx | llama-ppl |", "docs/results/gguf_import_vs_llamacpp.txt");
}

TEST(ReadmeResults, AcceleratorTableIsTheResultsFiles) {
  const std::map<std::string, std::string> pe_of = {
      {"baseline int8×int4", "baseline"}, {"FineQ select (a)", "select"}, {"FineQ unary (b)", "unary"}};
  int checked = 0;
  for (const auto& c : readme_rows("| model | PE | cycles | PE-array TOPS/W (× baseline) |")) {
    ASSERT_EQ(c.size(), 6u);
    const std::string file = c[0].starts_with("tinystories5M, int8×int8") ? "accel_tinystories5M_mult8x8.json"
                             : c[0] == "tinystories5M"                  ? "accel_tinystories5M.json"
                                                                        : "accel_" + c[0] + ".json";
    const json model = results(file).at("model");
    const json& base = model.at(0);
    const json* run = nullptr;
    for (const auto& m : model)
      if (m.at("pe") == pe_of.at(c[1])) run = &m;
    ASSERT_NE(run, nullptr) << c[1];
    const json& r = *run;
    if (c[2] != "—") {
      std::string cycles = c[2].substr(0, c[2].find(" ("));
      std::erase(cycles, ' ');
      EXPECT_EQ(cycles, std::to_string(r.at("cycles").get<uint64_t>())) << file << " " << c[1];
    }
    expect_printed(c[3], r.at("array_ops_per_joule").get<double>() / base.at("array_ops_per_joule").get<double>(), file + " TOPS/W");
    expect_printed(c[4], r.at("ops_per_joule").get<double>() / base.at("ops_per_joule").get<double>(), file + " energy");
    const double area = r.at("array_area_um2").get<double>() / base.at("array_area_um2").get<double>();
    if (r.at("pe") == "baseline") expect_printed(c[5], base.at("array_area_um2").get<double>() / 1e6, file + " mm²");
    else expect_printed(c[5].substr(c[5].find_first_of("0123456789")), -100 * (area - 1), file + " area change");
    ++checked;
  }
  EXPECT_EQ(checked, 5);
}

// The stories260K accelerator file regenerated at the README's settings (fineq-gptq default,
// 128 calibration windows, seed 0; the first 256 tokens of the evaluation text) is the file.
TEST(ReadmeResults, Stories260KAcceleratorTotalsAreReproduced) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "a numeric reproduction; the release stage runs it";
#endif
  const std::string calib = test::shared_path("data/tinystories/tinystories_train_head_2MiB.txt");
  const std::string text = test::shared_path("data/tinystories/tinystories_valid_head.txt");
  MIXQ_REQUIRE_FILE(calib);
  auto m = test::load_model(test::model_file(test::kRealModels[0]), 2);
  const auto c = quant::prepare_calibration(*m.tok, m.model->config().seq_len, calib, {});
  quant::quantize_with_record(*m.model, c, quant::parse_method_spec("fineq-gptq:row"));
  auto ids = m.tok->encode(io::read_whole_file(text), true);
  ids.resize(256);
  const json report = accel::simulate_model(*m.model, ids, {}).to_json();
  const json expected = results("accel_stories260K.json");
  ASSERT_EQ(report.at("model").size(), expected.at("model").size());
  for (size_t i = 0; i < expected.at("model").size(); ++i) {
    const json &got = report.at("model")[i], &want = expected.at("model")[i];
    EXPECT_EQ(got.at("cycles"), want.at("cycles")) << want.at("pe");
    EXPECT_EQ(got.at("macs"), want.at("macs")) << want.at("pe");
    EXPECT_NEAR(got.at("energy_pj").at("total").get<double>(), want.at("energy_pj").at("total").get<double>(),
                1e-9 * want.at("energy_pj").at("total").get<double>())
        << want.at("pe");
  }
}

}  // namespace mixq
