#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "common.hpp"
#include "mixq/io/mapped_file.hpp"
#include "mixq/io/tokenizer.hpp"

namespace mixq::cli {

void add_tokenize_command(CLI::App& app) {
  struct Options {
    std::string tokenizer, text, prompt;
    bool json = false, no_bos = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("tokenize", "print the token ids of a text (as llama.cpp's llama-tokenize)");
  cmd->add_option("--tokenizer", o->tokenizer, "tokenizer.json, tokenizer.model, llama2.c tokenizer.bin, or a GGUF model (its tokenizer)")->required();
  auto* text = cmd->add_option("--text", o->text, "file holding the text");
  cmd->add_option("-p,--prompt", o->prompt, "the text itself")->excludes(text);
  cmd->add_flag("--json", o->json, "print {\"ids\": [...]}");
  cmd->add_flag("--no-bos", o->no_bos, "no BOS (no special tokens of the tokenizer's post-processor)");
  cmd->callback([o, cmd] {
    if (cmd->count("--text") + cmd->count("--prompt") != 1) throw CLI::ValidationError("tokenize", "give --text FILE or -p TEXT");
    const auto tok = io::load_tokenizer(o->tokenizer);
    const std::string input = cmd->count("--text") ? io::read_whole_file(o->text) : o->prompt;
    const auto ids = tok->encode(input, !o->no_bos);
    if (o->json) fmt::print("{}\n", nlohmann::json{{"ids", ids}}.dump());
    else fmt::print("{}\n", fmt::join(ids, " "));
  });
}

}  // namespace mixq::cli
