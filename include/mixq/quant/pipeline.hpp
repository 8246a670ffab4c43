#pragma once
// The quantization job as the CLI and `compare` run it: calibration windows from a text, the
// layer-sequential method run, and the record that goes into the quantized file.
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mixq/quant/calib/calibration.hpp"
#include "mixq/quant/model_file.hpp"

namespace mixq::quant {

struct Calibration {
  std::vector<std::vector<int>> windows;
  nlohmann::json record = nlohmann::json::object();  // text, samples, length, seed, hash
};

// Tokenizes `text_path` (BOS + whole text) and samples the windows; length 0 means
// min(model seq_len, 2048). Error when the text is missing or shorter than one window.
Calibration prepare_calibration(const io::Tokenizer& tok, int model_seq_len, const std::string& text_path,
                                const CalibOptions& opt);

// Quantizes `model` in place with `opt` (windows unused by methods without a Hessian) and
// returns what the file records: options, calibration, wall time.
QuantizationRecord quantize_with_record(model::LlamaModel& model, const Calibration& calib, const MethodOptions& opt,
                                        const std::function<void(int, const std::vector<LayerReport>&)>& on_layer = {});

}  // namespace mixq::quant
