// The mixq command line: parses arguments and calls the library; no algorithm lives here.
#include <cstdio>
#include <exception>
#include <filesystem>

#include <fmt/format.h>

#include "common.hpp"
#include "mixq/core/error.hpp"
#include "mixq/io/run_files.hpp"

int main(int argc, char** argv) {
  CLI::App app{"mixq: fine-grained mixed-precision quantization of Llama-family models"};
  app.require_subcommand(1);
  mixq::cli::add_eval_command(app);
  mixq::cli::add_run_command(app);
  mixq::cli::add_convert_command(app);
  mixq::cli::add_bench_command(app);
  mixq::cli::add_quantize_command(app);
  mixq::cli::add_inspect_command(app);
  mixq::cli::add_compare_command(app);
  mixq::cli::add_simulate_command(app);
  mixq::cli::add_synth_command(app);
  mixq::cli::add_tokenize_command(app);
  try {
    const mixq::io::RunScope run;  // no output of this command may replace a file it reads
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::filesystem::filesystem_error& e) {
    // "filesystem error: cannot create directories: Permission denied [x/y]" → "x/y: cannot create
    // directories: Permission denied", the shape of every other error.
    std::string what = e.what();
    if (what.starts_with("filesystem error: ")) what.erase(0, 18);
    if (const size_t bracket = what.find(" ["); bracket != std::string::npos) what.erase(bracket);
    fmt::print(stderr, "mixq: {}: {}\n", e.path1().string(), what);
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "mixq: {}\n", e.what());
    return 1;
  }
  return 0;
}
