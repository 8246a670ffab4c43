// The mixq command line: parses arguments and calls the library; no algorithm lives here.
#include <cstdio>
#include <exception>

#include <fmt/format.h>

#include "common.hpp"
#include "mixq/core/error.hpp"

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
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    fmt::print(stderr, "mixq: {}\n", e.what());
    return 1;
  }
  return 0;
}
