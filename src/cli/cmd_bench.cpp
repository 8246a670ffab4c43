#include "common.hpp"
#include "mixq/eval/speed.hpp"

namespace mixq::cli {

void add_bench_command(CLI::App& app) {
  struct Options {
    ModelOptions model;
    int prompt = 128, decode = 64;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("bench", "prompt and decode speed beside the measured memory bandwidth");
  add_model_options(*cmd, o->model);
  cmd->add_option("--prompt-tokens", o->prompt, "prompt length")->check(positive_number());
  cmd->add_option("--decode-tokens", o->decode, "decode steps")->check(non_negative_number());
  cmd->callback([o] {
    auto m = load_model(o->model);
    const double bw = eval::measure_read_bandwidth(m.model->pool());
    const auto s = eval::measure_speed(*m.model, std::min(o->prompt, m.config.seq_len - o->decode), o->decode);
    fmt::print("threads {}  weights read per token {:.2f} MB\n", m.model->pool().size(), s.weight_bytes / 1e6);
    fmt::print("prompt  {:>9.1f} tok/s  ({} tokens)\n", s.prompt_tokens_per_second, s.prompt_tokens);
    fmt::print("decode  {:>9.1f} tok/s  ({} tokens)  weights read {:.2f} GB/s\n", s.decode_tokens_per_second,
               s.decode_tokens, s.decode_gbs());
    fmt::print("memory read bandwidth {:.2f} GB/s  decode reaches {:.1f}% of it\n", bw, 100.0 * s.decode_gbs() / bw);
  });
}

}  // namespace mixq::cli
