#include <chrono>
#include <filesystem>

#include "common.hpp"
#include "mixq/core/error.hpp"
#include "mixq/core/progress.hpp"
#include "mixq/io/hf_checkpoint.hpp"
#include "mixq/quant/pipeline.hpp"

namespace mixq::cli {

namespace {

void add_method_options(CLI::App& cmd, quant::MethodOptions& m, std::string& compat) {
  cmd.add_option("--method", m.method, "rtn, gptq, fineq-rtn, fineq-gptq or slim")
      ->check(CLI::IsMember({"rtn", "gptq", "fineq-rtn", "fineq-gptq", "slim"}));
  cmd.add_option("--bits", m.format.bits, "bits per weight: 2, 3, 4 or 8 (slim: the average N, 2…7)");
  cmd.add_option("--group", m.format.group, "input columns per group (0: one group per row)")
      ->check(CLI::NonNegativeNumber);
  cmd.add_flag("--sym", m.format.symmetric, "symmetric grid (no zero point stored)");
  cmd.add_flag("--mse", m.mse_clip, "search the clipping range minimizing squared error");
  cmd.add_flag("--act-order", m.act_order, "GPTQ: columns in descending Hessian diagonal order");
  cmd.add_flag("--true-sequential", m.true_sequential, "q,k,v → o → gate,up → down on quantized inputs");
  cmd.add_option("--damp", m.damp, "GPTQ dampening λ (× mean diag H)")->check(CLI::PositiveNumber);
  cmd.add_option("--fineq-threshold", m.fineq.threshold, "FineQ: outlier cluster when max|w| > T·min|w|");
  cmd.add_option("--fineq-rule", m.fineq.rule, "FineQ cluster rule")->check(CLI::IsMember({"ratio", "min-error", "obs"}));
  cmd.add_option("--fineq-int3", m.fineq.int3, "FineQ INT3 grid: wide (Δ steps) or fine (Δ/2 steps)")
      ->check(CLI::IsMember({"wide", "fine"}));
  cmd.add_option("--fineq-int2", m.fineq.int2, "FineQ INT2 grid: twos (−2…1) or sym ({±1,±3}·Δ/2)")
      ->check(CLI::IsMember({"twos", "sym"}));
  cmd.add_option("--compat", compat, "slim: 'official' follows the published SliM-LLM code exactly")
      ->check(CLI::IsMember({"mixq", "official"}));
  cmd.add_flag("!--no-sba", m.slim.sba, "slim: no salience-determined bit allocation (every group N bits)");
  cmd.add_flag("!--no-sqc", m.slim.sqc, "slim: no salience-weighted quantizer calibration (min-max grids)");
  cmd.add_option("--slim-lambda", m.slim.lambda, "slim: SQC weight of salient weights (1: published, inert)");
  cmd.add_option("--slim-kl", m.slim.kl, "slim: SBA score KL(P_fp‖P_q) (fp-q, paper; default) or KL(P_q‖P_fp) (q-fp, code; default with --compat official)")
      ->check(CLI::IsMember({"fp-q", "q-fp"}));
  cmd.add_option("--slim-search", m.slim.search, "slim: SBA scores candidates as RTN of W (rtn, published) or as stored (gptq)")
      ->check(CLI::IsMember({"rtn", "gptq"}));
  cmd.add_option("--slim-score", m.slim.score, "slim: SBA score: kl (published) or mse (layer-output error; needs --slim-search gptq)")
      ->check(CLI::IsMember({"kl", "mse"}));
  cmd.add_option("--slim-mask", m.slim.mask, "slim: SQC salient set: salience (2σ, code) or weights (3σ, paper)")
      ->check(CLI::IsMember({"salience", "weights"}));
}

}  // namespace

void add_calibration_options(CLI::App& cmd, std::string& text, quant::CalibOptions& c) {
  cmd.add_option("--calib", text, "calibration text (needed by gptq, fineq-gptq and slim)");
  cmd.add_option("--calib-samples", c.samples, "calibration windows")->check(CLI::PositiveNumber);
  cmd.add_option("--calib-len", c.length, "tokens per window (0: min(seq_len, 2048))")->check(CLI::NonNegativeNumber);
  cmd.add_option("--seed", c.seed, "seed of the window sampling");
}

void add_quantize_command(CLI::App& app) {
  struct Options {
    ModelOptions model;
    quant::MethodOptions method;
    std::string calib_text, out, export_f16, compat = "mixq";
    quant::CalibOptions calib;
    bool quiet = false, verbose = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("quantize", "quantize a model into a mixq .safetensors file");
  add_model_options(*cmd, o->model);
  add_method_options(*cmd, o->method, o->compat);
  add_calibration_options(*cmd, o->calib_text, o->calib);
  cmd->add_option("-o,--out", o->out, "output file (.safetensors)")->required();
  cmd->add_option("--export-f16", o->export_f16, "also write the dequantized model as an F16 HF directory");
  cmd->add_flag("-q,--quiet", o->quiet, "no progress bar");
  cmd->add_flag("-v,--verbose", o->verbose, "one line per linear: bits/weight, seconds, layout (slim: group widths)");
  cmd->callback([o, cmd] {
    // --group is one option for both formats; FineQ's default is one step per row.
    o->method.fineq.group = cmd->count("--group") ? o->method.format.group : 0;
    o->method.slim.format = {o->method.format.bits, o->method.format.group};
    if (o->compat == "official") {
      if (o->method.method != "slim") throw CLI::ValidationError("--compat", "official applies to --method slim");
      o->method.slim.official = true;
    }
    try {
      quant::validate_method_options(o->method);
    } catch (const Error& e) {
      fail("--method/--bits/--group", "{}", e.what());
    }
    auto m = load_model(o->model);
    quant::Calibration calib;
    if (quant::method_info(o->method.method).needs_calibration)
      calib = quant::prepare_calibration(*m.tokenizer, m.config.seq_len, o->calib_text, o->calib);
    Progress progress(fmt::format("quantize {}", quant::method_spec(o->method)), size_t(m.config.n_layers), !o->quiet);
    const auto record = quant::quantize_with_record(*m.model, calib, o->method, [&](int l, const auto& reports) {
      double seconds = 0;
      for (const auto& r : reports) {
        seconds += r.seconds;
        if (o->verbose)
          progress.note(fmt::format("{:<36} {:>5}x{:<5} {:6.3f} bpw {:6.2f} s  {}", r.name, r.rows, r.cols, r.bits_per_weight,
                                    r.seconds, r.layout));
      }
      progress.advance(1, fmt::format("layer {} done ({:.1f} s)", l, seconds));
    });
    progress.finish();
    quant::save_quantized_model(o->out, *m.model, *m.tokenizer, record);
    const auto file_bytes = std::filesystem::file_size(o->out);
    fmt::print("{}: {} — {:.4f} bits/weight over the decoder linears (measured from bytes), file {:.3f} MB, {:.1f} s\n",
               o->out, quant::method_spec(o->method), quant::decoder_bits_per_weight(*m.model), double(file_bytes) / 1e6,
               record.seconds);
    if (!o->export_f16.empty()) {
      // From the file just written: the export is exactly what the file holds.
      io::save_hf_dir(quant::dequantized_checkpoint(quant::load_quantized_model(o->out, 1), o->out), o->export_f16,
                      io::DType::F16);
      fmt::print("dequantized F16 export: {}\n", o->export_f16);
    }
  });
}

}  // namespace mixq::cli
