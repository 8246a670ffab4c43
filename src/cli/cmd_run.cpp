#include <cstdio>

#include "common.hpp"
#include "mixq/eval/generate.hpp"

namespace mixq::cli {

void add_run_command(CLI::App& app) {
  struct Options {
    ModelOptions model;
    std::string prompt;
    eval::GenerateOptions gen;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("run", "generate text");
  add_model_options(*cmd, o->model);
  cmd->add_option("-p,--prompt", o->prompt, "prompt text");
  cmd->add_option("-n,--steps", o->gen.steps, "new tokens at most")->check(non_negative_number());
  cmd->add_option("--temperature", o->gen.sampler.temperature, "0: greedy")->check(non_negative_number());
  cmd->add_option("--top-p", o->gen.sampler.top_p, "nucleus sampling threshold")->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--seed", o->gen.sampler.seed, "random seed");
  cmd->callback([o] {
    auto m = load_model(o->model);
    const auto r = eval::generate(*m.model, *m.tokenizer, o->prompt, o->gen, [](const std::string& piece) {
      fmt::print("{}", piece);
      std::fflush(stdout);
    });
    fmt::print("\n");
    std::fflush(stdout);  // the text ends before the stats line on a shared terminal
    fmt::print(stderr, "prompt {} tokens in {:.3f} s; generated {} tokens at {:.1f} tok/s\n", r.prompt_tokens,
               r.prompt_seconds, r.generated_tokens, r.decode_tokens_per_second());
  });
}

}  // namespace mixq::cli
