#include <filesystem>

#include "common.hpp"
#include "mixq/accel/model_sim.hpp"
#include "mixq/core/error.hpp"
#include "mixq/io/atomic_file.hpp"
#include "mixq/io/mapped_file.hpp"

namespace mixq::cli {
namespace {

// "32x32" → rows, cols.
std::pair<int, int> parse_array(const std::string& s) {
  const size_t x = s.find('x');
  try {
    if (x == std::string::npos) throw std::invalid_argument("no x");
    size_t used_r = 0, used_c = 0;
    const int r = std::stoi(s.substr(0, x), &used_r), c = std::stoi(s.substr(x + 1), &used_c);
    if (used_r != x || used_c != s.size() - x - 1) throw std::invalid_argument("trailing");
    return {r, c};
  } catch (const std::exception&) {
    fail("--array", "expected ROWSxCOLS (e.g. 32x32), got '{}'", s);
  }
}

}  // namespace

void add_simulate_command(CLI::App& app) {
  struct Options {
    ModelOptions model;
    std::string text, dataflow, array = "32x32", config, dump_config, json_out, plot_dir;
    std::vector<std::string> pes{"baseline", "select", "unary"};
    std::vector<int> layers;
    int tokens = 256;
    bool overlap = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("simulate", "run a FineQ-quantized model's layers on the systolic-array model");
  add_model_options(*cmd, o->model);
  cmd->add_option("--text", o->text, "prompt text whose first --tokens tokens run through the model")->required();
  cmd->add_option("--tokens", o->tokens, "prompt tokens (≤ the model's context)")->check(positive_number());
  cmd->add_option("--layers", o->layers, "decoder layers, e.g. 0,3 (default: all)")->delimiter(',');
  cmd->add_option("--array", o->array, "array shape ROWSxCOLS");
  cmd->add_option("--pe", o->pes, "PE models: baseline, select (FineQ temporal a), unary (FineQ temporal b)")
      ->delimiter(',');
  cmd->add_option("--dataflow", o->dataflow, "ws (weight-stationary, default) or os (output-stationary)")
      ->check(CLI::IsMember({"ws", "os"}));
  cmd->add_flag("--overlap-weight-load", o->overlap, "double-buffered weights: tile loads hidden");
  cmd->add_option("--config", o->config, "energy/area constants (JSON; see --dump-config)");
  cmd->add_option("--dump-config", o->dump_config, "write the configuration in use to this file");
  cmd->add_option("--json", o->json_out, "write the whole report as JSON");
  cmd->add_option("--plot-dir", o->plot_dir, "write energy.svg, area.svg and cycles.svg here");
  cmd->callback([o, cmd] {
    check_outputs(*cmd, {o->model.model, o->model.tokenizer, o->text, o->config},
                  {{"--dump-config", o->dump_config},
                   {"--json", o->json_out},
                   {"--plot-dir", o->plot_dir, true, {"energy.svg", "area.svg", "cycles.svg"}}});
    accel::ModelSimOptions opt;
    opt.config = o->config.empty() ? accel::AccelConfig::defaults() : accel::AccelConfig::load(o->config);
    std::tie(opt.config.rows, opt.config.cols) = parse_array(o->array);
    if (o->overlap) opt.config.overlap_weight_load = true;
    if (!o->dataflow.empty()) opt.config.dataflow = o->dataflow;
    opt.config.validate();
    opt.pes.clear();
    for (const auto& p : o->pes) opt.pes.push_back(accel::pe_from_name(p));
    if (opt.pes.empty()) fail("--pe", "no PE model given");
    opt.layers = o->layers;
    if (!o->dump_config.empty()) io::write_file_atomic(o->dump_config, opt.config.to_json().dump(2) + "\n");
    auto m = load_model(o->model);
    auto ids = m.tokenizer->encode(io::read_whole_file(o->text), true);
    const size_t n = std::min<size_t>({ids.size(), size_t(o->tokens), size_t(m.config.seq_len)});
    ids.resize(n);
    const auto report = accel::simulate_model(*m.model, ids, opt);
    fmt::print("{}x{} {} array, {} prompt tokens, config '{}'\n{}", opt.config.rows, opt.config.cols,
               opt.config.dataflow == "os" ? "output-stationary" : "weight-stationary", n,
               opt.config.name, report.table());
    for (const auto& l : report.layers)
      if (!l.matches_reference) fail("simulate", "{}: the array's outputs differ from the reference GEMM", l.name);
    if (!o->json_out.empty()) {
      nlohmann::json j = report.to_json();
      j["config"] = opt.config.to_json();
      j["tokens"] = n;
      io::write_file_atomic(o->json_out, j.dump(2) + "\n");
    }
    if (!o->plot_dir.empty()) {
      std::filesystem::create_directories(o->plot_dir);
      const std::filesystem::path dir(o->plot_dir);
      io::write_file_atomic(dir / "energy.svg", accel::energy_svg(report));
      io::write_file_atomic(dir / "area.svg", accel::area_svg(report, opt.config));
      io::write_file_atomic(dir / "cycles.svg", accel::cycles_svg(report));
    }
  });
}

}  // namespace mixq::cli
