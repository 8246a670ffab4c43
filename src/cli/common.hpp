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

// Number checks with short messages ("must be > 0, got -1"); CLI11's own print DBL_MAX in all
// its 309 digits and let NaN through.
CLI::Validator finite_number();
CLI::Validator positive_number();
CLI::Validator non_negative_number();

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
void add_synth_command(CLI::App& app);
void add_tokenize_command(CLI::App& app);

// An output a command will write: the option that names it, and for a directory the names of the
// files written in it.
struct OutputPath {
  const char* option;
  std::string path;
  bool is_dir = false;
  std::vector<std::string> dir_files = {};
};
// Before any work: the inputs are recorded (io::note_input), and every output option given may
// be written (io::check_output_file / check_output_dir), names no input and no other output.
void check_outputs(const CLI::App& cmd, const std::vector<std::string>& inputs, const std::vector<OutputPath>& outputs);

// --calib, --calib-samples, --calib-len, --seed (quantize and compare).
void add_calibration_options(CLI::App& cmd, std::string& text, quant::CalibOptions& c);

}  // namespace mixq::cli
