#pragma once
// The quantization job as the CLI and `compare` run it: calibration windows from a text, the
// layer-sequential driver (each decoder layer's Hessians captured, its linears quantized and
// swapped in, its *quantized* output the next layer's input, as GPTQ does), and the record that
// goes into the quantized file.
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mixq/quant/calib/calibration.hpp"
#include "mixq/quant/model_file.hpp"

namespace mixq::quant {

struct LayerReport {
  std::string name;
  int64_t rows, cols;
  double bits_per_weight;
  double seconds;
  std::string layout;  // the format's layout summary (slim: the group widths and SBA's p)
};

// Where one decoder layer's wall time went (`quantize -v`), in seconds.
struct LayerTimes {
  double capture = 0;  // calibration forward passes capturing the linears' inputs (H accumulation apart)
  double hessian = 0;  // accumulating H = Σ xxᵀ
  double scoring = 0;  // the input scorers' second pass (SliM-LLM's SBA), its forward included
  double solve = 0;    // the methods' quantizers, every linear
  double forward = 0;  // the quantized layer's output, the next layer's input
  double tune = 0;     // block training (SliM-LLM+): the fp layer's outputs and the clipping's training
};
using LayerCallback = std::function<void(int, const std::vector<LayerReport>&, const LayerTimes&)>;

// Where a resumed run starts: layers below `first_layer` were finished by a stopped run. They are
// not quantized again; a method with calibration gets each one back from `restore` (its packed
// linears put into the layer) to carry the calibration activations through it.
struct ResumeFrom {
  int first_layer = 0;
  std::function<void(int, model::LayerWeights&)> restore;
};

struct Calibration {
  std::vector<std::vector<int>> windows;
  nlohmann::json record = nlohmann::json::object();  // text, samples, length, seed, hash (activations)
  bool bf16_activations = false;                     // CalibOptions::bf16_activations
};

// Quantizes every decoder-layer linear of `model` in place (they become PackedLinear), layer by
// layer, with `calib`'s windows when the method needs calibration. `on_layer(l, reports, times)`
// is called after each decoder layer (with no reports for a layer finished by a stopped run).
void quantize_model(model::LlamaModel& model, const Calibration& calib, const MethodOptions& opt,
                    const LayerCallback& on_layer = {}, const ResumeFrom& resume = {});

// The output head's configuration from `spec`, a method that needs no calibration
// (rtn:BITS[:GROUP], fineq-rtn[:GROUP]); Error naming --head for a bad spec or a calibrated method.
MethodOptions head_options(const std::string& spec);
// Quantizes the output head (lm_head) with `opt` (head_options); a tied classifier becomes its own
// tensor. Returns the head's bits/weight.
double quantize_head(model::LlamaModel& model, const MethodOptions& opt);

// Tokenizes `text_path` (BOS + whole text) and samples the windows; length 0 means
// min(model seq_len, 2048). Error when the text is missing or shorter than one window.
Calibration prepare_calibration(const io::Tokenizer& tok, int model_seq_len, const std::string& text_path,
                                const CalibOptions& opt);

// Quantizes `model` in place with `opt` (windows unused by methods without a Hessian) and
// returns what the file records: options, calibration, wall time.
QuantizationRecord quantize_with_record(model::LlamaModel& model, const Calibration& calib, const MethodOptions& opt,
                                        const LayerCallback& on_layer = {}, const ResumeFrom& resume = {});

// What a run's journal must match for `quantize --resume` to continue it: the checkpoint (its
// path, config and tokenizer bytes), the method with its options and the calibration record.
nlohmann::json run_identity(const std::string& model_path, const io::LlamaConfig& config, const io::Tokenizer& tok,
                            const MethodOptions& opt, const Calibration& calib);

}  // namespace mixq::quant
