#pragma once
// `mixq compare`: several quantization configurations of one model, on the same calibration
// windows and the same evaluation text, in one table (docs/DESIGN.md "Comparison table"). Every quantized model is
// written to a file and evaluated from that file, so the numbers are those of what users keep.
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mixq/quant/calib/calibration.hpp"

namespace mixq::eval {

struct CompareOptions {
  std::string model, tokenizer;
  std::vector<std::string> configs;  // method specs, e.g. "gptq:3:128" (see parse_method_spec)
  std::string calib_text, eval_text;
  quant::CalibOptions calib;
  int ctx = 0;               // 0: the model's seq_len
  size_t max_windows = 0;    // evaluation windows per protocol (0: all)
  int threads = 0;
  std::string out_dir;       // keep the quantized files here; empty: a temp dir, removed after
  bool progress = true;
};

struct CompareRow {
  std::string config;  // "fp32" or the method spec
  std::string format;  // e.g. "uniform b3 g128 asym"
  double bits_per_weight = 32;  // measured over the decoder linears
  double file_mb = 0;
  double file_bits_per_weight = 0;  // every byte of the file over the model's parameters (embedding, norms, head too)
  double ppl_gptq = 0, ppl_llamacpp = 0, delta_ppl = 0;  // Δ of the gptq-protocol ppl vs fp32
  double kl = 0, top1 = 1;                               // vs fp32, gptq-protocol positions
  double quantize_seconds = 0;
};

// Runs fp32 first, then each configuration; `on_row` sees each row as soon as it is measured.
std::vector<CompareRow> compare_configs(const CompareOptions& opt,
                                        const std::function<void(const CompareRow&)>& on_row = {});

std::string compare_table(const std::vector<CompareRow>& rows);
nlohmann::json compare_json(const std::vector<CompareRow>& rows);
std::string compare_csv(const std::vector<CompareRow>& rows);

}  // namespace mixq::eval
