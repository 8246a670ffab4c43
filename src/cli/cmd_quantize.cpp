#include <chrono>
#include <filesystem>
#include <optional>

#include "common.hpp"
#include "mixq/core/enum_names.hpp"
#include "mixq/core/error.hpp"
#include "mixq/core/progress.hpp"
#include "mixq/io/hf_checkpoint.hpp"
#include "mixq/quant/pipeline.hpp"

namespace mixq::cli {

namespace {

// The method flags as typed: each becomes a word of the method's spec (--act-order → act-order,
// --fineq-rule R → R, …), so the CLI and `compare --configs` share one grammar and each method's
// row accepts or refuses its own options, naming the flag.
struct MethodFlags {
  std::string method = "gptq", bits = "4", group, compat = "mixq";
  std::string fineq_threshold, fineq_rule, fineq_int3, fineq_int2, slim_lambda, slim_kl, slim_search, slim_score, slim_mask;
  std::string tune_epochs, tune_lr, tune_batch, tune_windows;
  bool sym = false, mse = false, act_order = false, true_sequential = false, no_sba = false, no_sqc = false;
  bool tune_fp_inputs = false, tune_aug = false, bake_gptq = false;
  double damp = quant::MethodOptions{}.damp;
};

std::vector<std::string> method_names() {
  std::vector<std::string> out;
  for (const auto* m : quant::all_methods()) out.emplace_back(m->name);
  return out;
}

void add_method_options(CLI::App& cmd, MethodFlags& m) {
  cmd.add_option("--method", m.method, quant::method_choices())->check(CLI::IsMember(method_names()));
  cmd.add_option("--bits", m.bits, "bits per weight: 2, 3, 4 or 8 (slim: the average N, 2…7)")->check(finite_number());
  cmd.add_option("--group", m.group, "input columns per group (0: one group per row)")->check(non_negative_number());
  cmd.add_flag("--sym", m.sym, "symmetric grid (no zero point stored)");
  cmd.add_flag("--mse", m.mse, "search the clipping range minimizing squared error");
  cmd.add_flag("--act-order", m.act_order, "GPTQ: columns in descending Hessian diagonal order");
  cmd.add_flag("--true-sequential", m.true_sequential, "q,k,v → o → gate,up → down on quantized inputs");
  cmd.add_option("--damp", m.damp, "GPTQ dampening λ (× mean diag H)")->check(positive_number());
  cmd.add_option("--fineq-threshold", m.fineq_threshold, "FineQ: outlier cluster when max|w| > T·min|w|")->check(finite_number());
  cmd.add_option("--fineq-rule", m.fineq_rule, "FineQ cluster rule")->check(CLI::IsMember(enum_names<formats::FineqRule>()));
  cmd.add_option("--fineq-int3", m.fineq_int3, "FineQ INT3 grid: wide (Δ steps) or fine (Δ/2 steps)")
      ->check(CLI::IsMember(enum_names<formats::FineqInt3>()));
  cmd.add_option("--fineq-int2", m.fineq_int2, "FineQ INT2 grid: twos (−2…1) or sym ({±1,±3}·Δ/2)")
      ->check(CLI::IsMember(enum_names<formats::FineqInt2>()));
  cmd.add_option("--compat", m.compat, "slim: 'official' follows the published SliM-LLM code exactly")
      ->check(CLI::IsMember({"mixq", "official"}));
  cmd.add_flag("--no-sba", m.no_sba, "slim: no salience-determined bit allocation (every group N bits)");
  cmd.add_flag("--no-sqc", m.no_sqc, "slim: no salience-weighted quantizer calibration (min-max grids)");
  cmd.add_option("--slim-lambda", m.slim_lambda, "slim: SQC weight of salient weights (1: published, inert)")->check(finite_number());
  cmd.add_option("--slim-kl", m.slim_kl, "slim: SBA score KL(P_fp‖P_q) (fp-q, paper; default) or KL(P_q‖P_fp) (q-fp, code; default with --compat official)")
      ->check(CLI::IsMember(enum_names<quant::SlimKl>()));
  cmd.add_option("--slim-search", m.slim_search, "slim: SBA scores candidates as RTN of W (rtn, published) or as stored (gptq)")
      ->check(CLI::IsMember(enum_names<quant::SlimSearch>()));
  cmd.add_option("--slim-score", m.slim_score, "slim: SBA score: kl (published) or mse (layer-output error; needs --slim-search gptq)")
      ->check(CLI::IsMember(enum_names<quant::SlimScore>()));
  cmd.add_option("--slim-mask", m.slim_mask, "slim: SQC salient set: salience (2σ, code) or weights (3σ, paper)")
      ->check(CLI::IsMember(enum_names<quant::SlimMask>()));
  cmd.add_option("--epochs", m.tune_epochs, "slim+, rtn+, gptq+: passes of block training over the windows (default 20; official 50)")
      ->check(finite_number());
  cmd.add_option("--lr", m.tune_lr, "slim+, rtn+, gptq+: AdamW learning rate of the clipping logits (default 0.01)")->check(finite_number());
  cmd.add_option("--batch", m.tune_batch, "slim+, rtn+, gptq+: windows per training step (default 1)")->check(finite_number());
  cmd.add_option("--train-windows", m.tune_windows, "slim+, rtn+, gptq+: train on the first W calibration windows (default: all)")
      ->check(finite_number());
  cmd.add_flag("--fp-inputs", m.tune_fp_inputs, "slim+, rtn+, gptq+: train each block on the fp model's inputs, not the quantized blocks'");
  cmd.add_flag("--aug-loss", m.tune_aug, "slim+, rtn+, gptq+: add OmniQuant's aug loss (the fp block on the same inputs)");
  cmd.add_flag("--bake-gptq", m.bake_gptq, "slim+: store the trained grids through GPTQ's error feedback, not by rounding");
}

quant::MethodOptions method_options_of(const MethodFlags& m, const CLI::App& cmd) {
  quant::MethodArgs a;
  a.where = "--method " + m.method;
  const quant::MethodInfo& info = quant::method_info(m.method);
  if (info.takes_bits) a.bits = quant::MethodArgs::Word{m.bits, "--bits " + m.bits};
  else if (cmd.count("--bits")) fail("--bits", "{} has no bit width to choose", m.method);
  // --group 0 is the spec's "row".
  if (cmd.count("--group")) a.group = quant::MethodArgs::Word{std::stod(m.group) == 0 ? "row" : m.group, "--group " + m.group};
  auto flag = [&](bool on, const char* word, const char* option) {
    if (on) a.flags.push_back({word, option});
  };
  auto value = [&](const std::string& v, const std::string& prefix, const char* option) {
    if (!v.empty()) a.flags.push_back({prefix + v, std::string(option) + " " + v});
  };
  flag(m.sym, "sym", "--sym");
  flag(m.mse, "mse", "--mse");
  flag(m.act_order, "act-order", "--act-order");
  flag(m.true_sequential, "true-seq", "--true-sequential");
  flag(m.compat == "official", "official", "--compat official");
  flag(m.no_sba, "no-sba", "--no-sba");
  flag(m.no_sqc, "no-sqc", "--no-sqc");
  value(m.fineq_threshold, "t=", "--fineq-threshold");
  value(m.fineq_rule, "", "--fineq-rule");
  value(m.fineq_int3, "int3-", "--fineq-int3");
  value(m.fineq_int2, "int2-", "--fineq-int2");
  value(m.slim_lambda, "lambda=", "--slim-lambda");
  value(m.slim_kl, "kl-", "--slim-kl");
  value(m.slim_search, "search-", "--slim-search");
  value(m.slim_score, "score-", "--slim-score");
  value(m.slim_mask, "mask-", "--slim-mask");
  value(m.tune_epochs, "epochs=", "--epochs");
  value(m.tune_lr, "lr=", "--lr");
  value(m.tune_batch, "batch=", "--batch");
  value(m.tune_windows, "windows=", "--train-windows");
  flag(m.tune_fp_inputs, "fp-inputs", "--fp-inputs");
  flag(m.tune_aug, "aug", "--aug-loss");
  flag(m.bake_gptq, "bake-gptq", "--bake-gptq");
  quant::MethodOptions o = quant::method_options(m.method, a);
  o.damp = m.damp;
  return o;
}

}  // namespace

void add_calibration_options(CLI::App& cmd, std::string& text, quant::CalibOptions& c) {
  cmd.add_option("--calib", text, "calibration text (needed by gptq, fineq-gptq, slim and the tuned methods slim+, rtn+, gptq+)");
  cmd.add_option("--calib-samples", c.samples, "calibration windows")->check(positive_number());
  cmd.add_option("--calib-len", c.length, "tokens per window (0: min(seq_len, 2048))")->check(non_negative_number());
  cmd.add_option("--seed", c.seed, "seed of the window sampling");
  cmd.add_flag("--calib-bf16", c.bf16_activations,
               "keep the activations between layers in bf16 (half the largest buffer of a calibrated run; "
               "changes the result slightly)");
}

void add_quantize_command(CLI::App& app) {
  struct Options {
    ModelOptions model;
    MethodFlags flags;
    quant::MethodOptions method;
    std::string calib_text, out, export_f16, head;
    std::optional<quant::MethodOptions> head_method;  // from --head
    quant::CalibOptions calib;
    bool quiet = false, verbose = false, resume = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("quantize", "quantize a model into a mixq .safetensors file");
  add_model_options(*cmd, o->model);
  add_method_options(*cmd, o->flags);
  add_calibration_options(*cmd, o->calib_text, o->calib);
  cmd->add_option("-o,--out", o->out, "output file (.safetensors)")->required();
  cmd->add_option("--head", o->head, "also quantize the output head (lm_head; a tied one becomes its own tensor) "
                  "with a method needing no calibration, e.g. rtn:4:32, rtn:8:64, fineq-rtn");
  cmd->add_option("--export-f16", o->export_f16, "also write the dequantized model as an F16 HF directory");
  cmd->add_flag("--resume", o->resume, "continue a stopped run of the same command after its last finished layer "
                "(its data are kept in OUT.partial, OUT.partial.json)");
  cmd->add_flag("-q,--quiet", o->quiet, "no progress bar");
  cmd->add_flag("-v,--verbose", o->verbose, "one line per linear: bits/weight, seconds, layout (slim: group widths)");
  cmd->callback([o, cmd] {
    try {
      o->method = method_options_of(o->flags, *cmd);
      o->method.head = o->head;
      quant::validate_method_options(o->method);
    } catch (const Error& e) {
      fail("--method/--bits/--group", "{}", e.what());
    }
    if (!o->head.empty()) o->head_method = quant::head_options(o->head);  // a bad spec fails before any work
    const bool calibrated = quant::method_info(o->method.method).needs_calibration;
    const std::string method = "--method " + o->method.method + (cmd->count("--method") ? "" : " (the default)");
    for (const char* option : {"--calib", "--damp", "--calib-samples", "--calib-len", "--seed", "--calib-bf16"})
      if (!calibrated && cmd->count(option)) fail(option, "{} uses no calibration: drop {}", method, option);
    if (calibrated && o->calib_text.empty())
      fail("--calib", "{} needs a calibration text: pass --calib FILE (rtn and fineq-rtn need none)", method);
    // The run's scratch data and journal lie beside -o (quant/run_journal.hpp).
    const std::vector<OutputPath> outputs = {{"-o", o->out},
                                             {"-o", quant::scratch_path(o->out)},
                                             {"-o", quant::journal_path(o->out)},
                                             {"--export-f16", o->export_f16, true, io::hf_dir_file_names()}};
    const std::vector<std::string> inputs = {o->model.model, o->model.tokenizer, o->calib_text};
    check_outputs(*cmd, inputs, outputs);
    // The checkpoint stays in its files; only the layer being quantized is read as fp32, and each
    // finished layer goes to the output and is freed.
    io::StoredCheckpoint ck = io::open_checkpoint(o->model.model, o->model.tokenizer);
    model::LlamaModel model = model::LlamaModel::from_stored(ck, o->model.threads);
    quant::Calibration calib;
    if (calibrated) calib = quant::prepare_calibration(*ck.tokenizer, ck.config.seq_len, o->calib_text, o->calib);
    check_outputs(*cmd, inputs, outputs);  // again, now that every file the inputs name has been opened
    if (o->head_method) {
      const double bits = quant::quantize_head(model, *o->head_method);
      if (!o->quiet) fmt::print(stderr, "{}: {} ({:.4f} bits/weight)\n", io::names::classifier(), o->head, bits);
    }
    quant::QuantizedFileWriter out(
        o->out, model, *ck.tokenizer,
        quant::JournalOptions{quant::run_identity(o->model.model, ck.config, *ck.tokenizer, o->method, calib), o->resume});
    if (!out.journal_note().empty()) fmt::print(stderr, "{}\n", out.journal_note());
    const quant::ResumeFrom resume{out.layers_restored(), [&](int l, model::LayerWeights& layer) { out.restore_layer(l, layer); }};
    Progress progress(fmt::format("quantize {}", quant::method_spec(o->method)), size_t(ck.config.n_layers), !o->quiet);
    const auto on_layer = [&](int l, const std::vector<quant::LayerReport>& reports, const quant::LayerTimes& t) {
      if (l < resume.first_layer) {  // written by the stopped run
        model.layer(l) = {};
        progress.skip(1, fmt::format("layer {} done before", l));
        return;
      }
      if (o->verbose) {
        for (const auto& r : reports)
          progress.note(fmt::format("{:<36} {:>5}x{:<5} {:6.3f} bpw {:6.2f} s  {}", r.name, r.rows, r.cols, r.bits_per_weight,
                                    r.seconds, r.layout));
        progress.note(fmt::format("layer {}: calibration forward {:.2f} s, Hessians {:.2f} s, input scoring {:.2f} s, "
                                  "solve {:.2f} s, output forward {:.2f} s{}",
                                  l, t.capture, t.hessian, t.scoring, t.solve, t.forward,
                                  t.tune > 0 ? fmt::format(", block training {:.2f} s", t.tune) : ""));
      }
      out.add_layer(l, model.layer(l));
      model.layer(l) = {};  // written: the rest of the run never reads it again
      progress.advance(1, fmt::format("layer {} done ({:.1f} s)", l, t.capture + t.hessian + t.scoring + t.solve + t.forward + t.tune));
    };
    quant::QuantizationRecord record;
    try {
      record = quant::quantize_with_record(model, calib, o->method, on_layer, resume);
      progress.finish();
      out.finish(record);
    } catch (const Error&) {
      progress.finish();
      if (out.layers_written() > 0)
        fmt::print(stderr, "{} finished layers are kept in {}: once the cause is fixed, the same command with --resume "
                   "continues after them\n", out.layers_written(), quant::scratch_path(o->out));
      throw;
    }
    // Over the parameters of the model the file holds (inspect's count): a tied classifier
    // quantized by --head is a tensor of its own there.
    const auto file_bytes = std::filesystem::file_size(o->out);
    fmt::print("{}: {} — {:.4f} bits/weight over the decoder linears, {:.4f} over the whole file ({:.3f} MB; both "
               "measured from bytes), {:.1f} s\n",
               o->out, quant::method_spec(o->method), out.decoder_bits_per_weight(),
               8.0 * double(file_bytes) / double(io::parameter_count(model.config())), double(file_bytes) / 1e6, record.seconds);
    if (!o->export_f16.empty()) {
      // From the file just written: the export is exactly what the file holds.
      io::save_hf_dir(quant::dequantized_checkpoint(quant::load_quantized_model(o->out, 1), o->out), o->export_f16,
                      io::DType::F16);
      fmt::print("dequantized F16 export: {}\n", o->export_f16);
    }
  });
}

}  // namespace mixq::cli
