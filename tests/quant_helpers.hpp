#pragma once
// Helpers shared by the quantization tests.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "mixq/eval/perplexity.hpp"
#include "mixq/formats/registry.hpp"
#include "mixq/io/checkpoint.hpp"
#include "mixq/io/mapped_file.hpp"
#include "mixq/model/llama.hpp"
#include "mixq/quant/calib/calibration.hpp"

namespace mixq::test {

// Perplexity options for tests: no progress bar, the first `max_windows` windows.
inline eval::PerplexityOptions quiet_ppl_options(size_t max_windows) {
  eval::PerplexityOptions po;
  po.progress = false;
  po.max_windows = max_windows;
  return po;
}

// tr(ΔW H ΔWᵀ) with ΔW = Ŵ − W: the layer-output error ‖(W − Ŵ) X‖² up to H's factor 2/N.
inline double output_error(const Tensor& w, const formats::PackedTensor& q, const std::vector<double>& h) {
  std::vector<float> deq(static_cast<size_t>(w.rows() * w.cols()));
  formats::format_ops(q.format).dequantize_rows(q, 0, w.rows(), deq.data());
  return quant::hessian_weighted_error(w.data, deq, h, w.rows(), w.cols());
}

// Calls fn(name, W, calibration) for every decoder linear of the checkpoint at `model_path`, with
// H (and, keep_inputs, the inputs) from `samples` windows of `len` tokens of the first 400 kB of
// `calib_path` (seed 0) run through the fp model.
inline void for_each_linear_with_calibration(
    const std::string& model_path, const std::string& calib_path, int samples, int len, bool keep_inputs,
    const std::function<void(const std::string&, const Tensor&, const quant::LayerCalibration&)>& fn) {
  io::Checkpoint ck = io::load_checkpoint(model_path);
  std::map<std::string, Tensor> weights;
  for (const auto& [name, t] : ck.tensors) weights[name] = t;
  auto tok = std::move(ck.tokenizer);
  auto model = model::LlamaModel::from_checkpoint(ck, 2);
  const std::string text = io::read_whole_file(calib_path).substr(0, 400000);
  const auto windows = quant::sample_windows(tok->encode(text, true), samples, len, 0);
  for (int l = 0; l < model.config().n_layers; ++l)
    for (const auto& [name, c] : quant::layer_calibrations(model, l, windows, keep_inputs)) fn(name, weights.at(name), c);
}

// The same with the Hessian only.
inline void for_each_linear_with_hessian(
    const std::string& model_path, const std::string& calib_path, int samples, int len,
    const std::function<void(const std::string&, const Tensor&, const std::vector<double>&)>& fn) {
  for_each_linear_with_calibration(model_path, calib_path, samples, len, false,
                                   [&](const std::string& name, const Tensor& w, const quant::LayerCalibration& c) {
                                     fn(name, w, c.hessian);
                                   });
}

}  // namespace mixq::test
