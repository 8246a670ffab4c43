#include "mixq/quant/pipeline.hpp"

#include <algorithm>
#include <chrono>

#include "mixq/core/error.hpp"
#include "mixq/io/mapped_file.hpp"

namespace mixq::quant {

Calibration prepare_calibration(const io::Tokenizer& tok, int model_seq_len, const std::string& text_path,
                                const CalibOptions& opt) {
  if (text_path.empty()) fail("--calib", "a calibration text is needed by this method");
  const int length = opt.length > 0 ? opt.length : std::min(model_seq_len, 2048);
  if (length > model_seq_len) fail("--calib-len", "{} exceeds the model's context length {}", length, model_seq_len);
  const std::string text = io::read_whole_file(text_path);
  Calibration c;
  try {
    c.windows = sample_windows(tok.encode(text, true), opt.samples, length, opt.seed);
  } catch (const Error& e) {
    fail(text_path, "{}", e.what());
  }
  c.record = {{"text", text_path},   {"samples", opt.samples}, {"length", length},
              {"seed", opt.seed},    {"tokens_hash", calibration_hash(c.windows)}};
  return c;
}

QuantizationRecord quantize_with_record(model::LlamaModel& model, const Calibration& calib, const MethodOptions& opt,
                                        const std::function<void(int, const std::vector<LayerReport>&)>& on_layer) {
  const bool needs = method_info(opt.method).needs_calibration;
  const auto t0 = std::chrono::steady_clock::now();
  static const std::vector<std::vector<int>> no_windows;
  quantize_model(model, needs ? calib.windows : no_windows, opt, on_layer);
  QuantizationRecord r;
  r.method = method_options_json(opt);
  r.calibration = needs ? calib.record : nlohmann::json::object();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace mixq::quant
