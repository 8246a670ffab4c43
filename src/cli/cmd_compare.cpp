#include "common.hpp"
#include <filesystem>

#include "mixq/eval/compare.hpp"
#include "mixq/eval/plot.hpp"
#include "mixq/io/atomic_file.hpp"

namespace mixq::cli {

namespace {

// "tinystories5M/model.bin": enough of the path to tell models apart in a chart title.
std::string model_label(const std::string& path) {
  const std::filesystem::path p(path);
  return p.has_parent_path() ? (p.parent_path().filename() / p.filename()).string() : p.string();
}

}  // namespace

void add_compare_command(CLI::App& app) {
  struct Options {
    eval::CompareOptions compare;
    std::string json_out, csv_out, svg_out;
    bool quiet = false;
  };
  auto o = std::make_shared<Options>();
  o->compare.configs = {"rtn:2:128", "rtn:3:128", "rtn:4:128", "gptq:2:128", "gptq:3:128", "gptq:4:128"};
  auto* cmd = app.add_subcommand("compare", "quantize a model several ways and compare them in one table");
  cmd->add_option("-m,--model", o->compare.model, "llama2.c checkpoint, Hugging Face directory or GGUF file")->required();
  cmd->add_option("--tokenizer", o->compare.tokenizer, "tokenizer file (default: found beside the model)");
  cmd->add_option("-t,--threads", o->compare.threads, "worker threads (0: all cores)")->check(non_negative_number());
  cmd->add_option("--configs", o->compare.configs,
                  "METHOD:BITS[:GROUP|row][+sym][+mse][+act-order][+true-seq], comma-separated")
      ->delimiter(',')
      ->capture_default_str();
  add_calibration_options(*cmd, o->compare.calib_text, o->compare.calib);
  cmd->add_option("--text", o->compare.eval_text, "evaluation text")->required();
  cmd->add_option("--ctx", o->compare.ctx, "evaluation window (default: the model's seq_len)");
  cmd->add_option("--max-windows", o->compare.max_windows, "evaluation windows per protocol (0: all)")->check(non_negative_number());
  cmd->add_option("--keep", o->compare.out_dir, "keep the quantized files in this directory");
  cmd->add_option("--json", o->json_out, "also write the table as JSON to this file");
  cmd->add_option("--csv", o->csv_out, "also write the table as CSV to this file");
  cmd->add_option("--plot", o->svg_out, "also write perplexity vs measured bits/weight as an SVG chart");
  cmd->add_flag("-q,--quiet", o->quiet, "no progress bars");
  cmd->callback([o, cmd] {
    const auto& c = o->compare;
    check_outputs(*cmd, {c.model, c.tokenizer, c.eval_text, c.calib_text},
                  {{"--json", o->json_out}, {"--csv", o->csv_out}, {"--plot", o->svg_out}, {"--keep", c.out_dir, true}});
    o->compare.progress = !o->quiet;
    const auto rows = eval::compare_configs(o->compare, [&](const eval::CompareRow& r) {
      if (!o->quiet) fmt::print(stderr, "{}: ppl {:.4f}\n", r.config, r.ppl_gptq);
    });
    fmt::print("{} on {} ({} windows max per protocol)\n{}", o->compare.model, o->compare.eval_text,
               o->compare.max_windows ? std::to_string(o->compare.max_windows) : "all", eval::compare_table(rows));
    if (!o->json_out.empty()) io::write_file_atomic(o->json_out, eval::compare_json(rows).dump(2) + "\n");
    if (!o->csv_out.empty()) io::write_file_atomic(o->csv_out, eval::compare_csv(rows));
    if (!o->svg_out.empty())
      io::write_file_atomic(o->svg_out, eval::ppl_vs_bits_svg(rows, model_label(o->compare.model) + ": perplexity vs bits/weight"));
  });
}

}  // namespace mixq::cli
