#include <nlohmann/json.hpp>

#include "common.hpp"
#include "mixq/eval/perplexity.hpp"
#include "mixq/io/atomic_file.hpp"
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
    std::string per_token;
    int top_k = 0;
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
  cmd->add_option("--per-token", o->per_token,
                  "write every window's ids and per-position NLL to this JSON file (one protocol only)");
  cmd->add_option("--top-k", o->top_k, "with --per-token: also the k largest logits at each position")
      ->check(CLI::Range(0, 1000));
  cmd->callback([o, cmd] {
    check_outputs(*cmd, {o->model.model, o->model.tokenizer, o->text}, {{"--per-token", o->per_token}});
    if (!o->per_token.empty() && o->protocols.size() != 1)
      fail("--per-token", "names one file: pass one --protocol (got {})", o->protocols.size());
    if (o->top_k > 0 && o->per_token.empty()) fail("--top-k", "needs --per-token FILE");
    const auto text = io::read_whole_file(o->text);
    auto m = load_model(o->model);
    check_outputs(*cmd, {o->model.model, o->model.tokenizer, o->text}, {{"--per-token", o->per_token}});  // now that every input is open
    const auto stream = eval::tokenize_eval_text(*m.tokenizer, text, o->split_blocks);
    nlohmann::json results = nlohmann::json::array();
    for (const auto& name : o->protocols) {
      eval::PerplexityOptions po;
      po.protocol = eval::parse_protocol(name);
      po.ctx = o->ctx;
      po.max_windows = o->max_windows;
      po.bos_id = m.tokenizer->bos_id();
      std::vector<eval::WindowScores> windows;
      if (!o->per_token.empty()) {
        po.per_token = &windows;
        po.top_k = o->top_k;
      }
      const auto r = eval::perplexity(*m.model, stream, po);
      if (!o->per_token.empty()) io::write_file_atomic(o->per_token, eval::per_token_json(windows));
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
