#include <cstdio>

#include "common.hpp"
#include <nlohmann/json.hpp>

#include "mixq/eval/generate.hpp"
#include "mixq/io/chat_template.hpp"
#include "mixq/io/mapped_file.hpp"

namespace mixq::cli {
namespace {

nlohmann::json parse_json_file(const std::string& path) {
  try {
    return nlohmann::json::parse(io::read_whole_file(path));
  } catch (const nlohmann::json::exception& e) {
    fail(path, "not valid JSON: {}", e.what());
  }
}

}  // namespace

void add_run_command(CLI::App& app) {
  struct Options {
    ModelOptions model;
    std::string prompt, system, messages;
    bool chat = false;
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
  cmd->add_flag("--chat", o->chat, "the prompt is a user message, rendered with the model's chat template; prints the reply");
  cmd->add_option("--system", o->system, "with --chat: a system message first");
  cmd->add_option("--messages", o->messages, "a JSON file of messages [{\"role\": ..., \"content\": ...}] (implies --chat)");
  cmd->callback([o, cmd] {
    check_outputs(*cmd, {o->model.model, o->model.tokenizer, o->messages}, {});
    const bool chat = o->chat || !o->messages.empty();
    if (!chat && cmd->count("--system")) fail("--system", "needs --chat");
    auto m = load_model(o->model);
    const auto print = [](const std::string& piece) {
      fmt::print("{}", piece);
      std::fflush(stdout);
    };
    eval::GenerateResult r;
    if (chat) {
      nlohmann::json messages = nlohmann::json::array();
      if (!o->messages.empty()) messages = parse_json_file(o->messages);
      using nlohmann::json;
      if (!o->system.empty()) messages.insert(messages.begin(), json::object({{"role", "system"}, {"content", o->system}}));
      if (!o->prompt.empty()) messages.push_back(json::object({{"role", "user"}, {"content", o->prompt}}));
      // The template writes the special tokens itself, as apply_chat_template's tokenization does.
      const std::string text = io::apply_chat_template(*m.tokenizer, messages);
      eval::GenerateOptions gen = o->gen;
      gen.echo_prompt = false;
      r = eval::generate(*m.model, *m.tokenizer, m.tokenizer->encode(text, false), gen, print);
    } else {
      r = eval::generate(*m.model, *m.tokenizer, o->prompt, o->gen, print);
    }
    fmt::print("\n");
    std::fflush(stdout);  // the text ends before the stats line on a shared terminal
    fmt::print(stderr, "prompt {} tokens in {:.3f} s; generated {} tokens at {:.1f} tok/s\n", r.prompt_tokens,
               r.prompt_seconds, r.generated_tokens, r.decode_tokens_per_second());
  });
}

}  // namespace mixq::cli
