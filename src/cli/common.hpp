#pragma once
// Options shared by the subcommands and the one place that turns them into a loaded model.
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "mixq/io/checkpoint.hpp"
#include "mixq/model/llama.hpp"
#include "mixq/quant/calib/calibration.hpp"

namespace mixq::cli {

struct ModelOptions {
  std::string model;
  std::string tokenizer;
  int threads = 0;  // 0: all hardware threads
};

void add_model_options(CLI::App& cmd, ModelOptions& o);

struct LoadedModel {
  io::LlamaConfig config;
  std::unique_ptr<io::Tokenizer> tokenizer;
  std::unique_ptr<model::LlamaModel> model;
};
LoadedModel load_model(const ModelOptions& o);

void add_eval_command(CLI::App& app);
void add_run_command(CLI::App& app);
void add_convert_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_quantize_command(CLI::App& app);
void add_inspect_command(CLI::App& app);
void add_compare_command(CLI::App& app);
void add_simulate_command(CLI::App& app);

// --calib, --calib-samples, --calib-len, --seed (quantize and compare).
void add_calibration_options(CLI::App& cmd, std::string& text, quant::CalibOptions& c);

}  // namespace mixq::cli
