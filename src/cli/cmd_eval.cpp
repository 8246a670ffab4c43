#include <nlohmann/json.hpp>

#include "common.hpp"
#include "mixq/eval/perplexity.hpp"
#include "mixq/io/mapped_file.hpp"

namespace mixq::cli {

void add_eval_command(CLI::App& app) {
  struct Options {
    ModelOptions model;
    std::string text;
    int ctx = 0;
    std::vector<std::string> protocols{"gptq", "llamacpp"};
    bool split_blocks = false, json = false;
    size_t max_windows = 0;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("eval", "perplexity of a model on a text");
  add_model_options(*cmd, o->model);
  cmd->add_option("--text", o->text, "evaluation text file")->required();
  cmd->add_option("--ctx", o->ctx, "window length in tokens (default: the model's seq_len)")->check(non_negative_number());
  cmd->add_option("--protocol", o->protocols, "gptq, llamacpp and/or llama2c")->delimiter(',');
  cmd->add_flag("--split-blocks", o->split_blocks,
                "tokenize each \\n\\n-separated block with its own BOS (llama2.c's recipe)");
  cmd->add_option("--max-windows", o->max_windows, "score at most this many windows (0: all)")->check(non_negative_number());
  cmd->add_flag("--json", o->json, "print results as JSON");
  cmd->callback([o] {
    const auto text = io::read_whole_file(o->text);
    auto m = load_model(o->model);
    const auto stream = eval::tokenize_eval_text(*m.tokenizer, text, o->split_blocks);
    nlohmann::json results = nlohmann::json::array();
    for (const auto& name : o->protocols) {
      eval::PerplexityOptions po;
      po.protocol = eval::parse_protocol(name);
      po.ctx = o->ctx;
      po.max_windows = o->max_windows;
      const auto r = eval::perplexity(*m.model, stream, po);
      if (o->json) {
        results.push_back({{"protocol", name}, {"ctx", r.ctx}, {"windows", r.windows},
                           {"scored_tokens", r.scored_tokens}, {"mean_nll", r.mean_nll}, {"ppl", r.ppl}});
      } else {
        fmt::print("{:<9} ctx {:>5}  windows {:>5}  scored {:>8}  nll {:.4f}  ppl {:.4f}\n", name, r.ctx,
                   r.windows, r.scored_tokens, r.mean_nll, r.ppl);
      }
    }
    if (o->json)
      fmt::print("{}\n", nlohmann::json{{"model", o->model.model}, {"text", o->text},
                                        {"stream_tokens", stream.size()}, {"results", results}}.dump(2));
  });
}

}  // namespace mixq::cli
