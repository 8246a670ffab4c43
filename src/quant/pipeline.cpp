#include "mixq/quant/pipeline.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>

#include "mixq/core/error.hpp"
#include "mixq/core/hash.hpp"
#include "mixq/core/memory.hpp"
#include "mixq/formats/registry.hpp"
#include "mixq/io/hf_checkpoint.hpp"
#include "mixq/io/mapped_file.hpp"
#include "mixq/model/packed_linear.hpp"
#include "mixq/quant/tune/block_tuning.hpp"

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
  c.bf16_activations = opt.bf16_activations;
  if (opt.bf16_activations) c.record["activations"] = "bf16";  // only then: fp32 files stay as they were
  return c;
}

namespace {

// The quantizer checks its own output with the loader's own checks, so a file that quantize writes
// always loads. What fails in practice is range: a finite weight far beyond what an fp16 scale
// can span; the message names that weight.
void check_quantized(const formats::PackedTensor& packed, const Tensor& w, const std::string& name) {
  try {
    formats::format_ops(packed.format).validate(packed);
  } catch (const Error& e) {
    size_t at = 0;
    for (size_t i = 1; i < w.data.size(); ++i)
      if (std::fabs(w.data[i]) > std::fabs(w.data[at])) at = i;
    const int64_t cols = w.cols();
    fail(name, "the quantized tensor is not valid ({}); its largest weight, {:g} at row {} column {}, is out of range "
         "for the format's fp16 scales (at most 65504)", e.what(), w.data[at], int64_t(at) / cols, int64_t(at) % cols);
  }
}

// `method` on weight `w` of linear `name`: an error names the linear, and the result passes the
// loader's checks (check_quantized).
formats::PackedTensor quantize_checked(const MethodInfo& method, const Tensor& w, const LayerCalibration& calib,
                                       const MethodOptions& opt, const std::string& name) {
  formats::PackedTensor packed;
  try {
    packed = method.quantize(w, calib, opt);
  } catch (const Error& e) {
    fail(name, "{}", e.what());
  }
  check_quantized(packed, w, name);
  return packed;
}

// A layer read from its checkpoint file (StoredLinear) is converted to fp32 only now, when it is
// quantized: at most one decoder layer of the model exists in fp32 at a time.
void load_layer_weights(model::LayerWeights& layer) {
  for (const auto& slot : model::linear_slots()) {
    std::unique_ptr<model::Linear>& linear = layer.*slot.member;
    if (const io::StoredTensor* stored = linear->stored_weight()) {
      Tensor w = stored->to_f32();
      stored->release_pages();
      linear = std::make_unique<model::DenseLinear>(std::move(w));
    }
  }
}

// Whether slot i is the last slot of the pass that reads its site (q, k, v share one; gate, up another).
bool last_of_site(size_t i, const std::function<bool(const model::LinearSlot&)>& in_stage) {
  const auto slots = model::linear_slots();
  for (size_t j = i + 1; j < slots.size(); ++j)
    if (slots[j].site == slots[i].site && in_stage(slots[j])) return false;
  return true;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The linear of `slot` as a dense fp32 weight (load_layer_weights made it so).
const Tensor& dense_weight_of(model::LayerWeights& layer, const model::LinearSlot& slot, int l) {
  const Tensor* w = (layer.*slot.member)->dense_weight();
  if (!w) fail(slot.name(l), "is already quantized");
  return *w;
}

// For methods that read the layer's inputs: each linear's scorer (by slot, null where none), made
// before any linear of the pass is quantized and fed by a second pass over the windows, a chunk
// of windows per thread at a time — never every window's inputs at once.
std::vector<std::shared_ptr<InputScorer>> input_scorers(model::LlamaModel& m, int l, const WindowActivations& acts,
                                                        const LayerCapture& acc,
                                                        const std::function<bool(const model::LinearSlot&)>& in_stage,
                                                        const MethodOptions& opt) {
  const MethodInfo& method = method_info(opt.method);
  std::vector<std::shared_ptr<InputScorer>> scorers(model::linear_slots().size());
  if (!method.input_scorer) return scorers;
  std::map<model::LinearSite, std::vector<InputScorer*>> by_site;
  for (size_t i = 0; i < scorers.size(); ++i) {
    const model::LinearSlot& slot = model::linear_slots()[i];
    if (!in_stage(slot)) continue;
    try {
      scorers[i] = method.input_scorer(dense_weight_of(m.layer(l), slot, l), acc.at(slot.site).calibration(m.pool()), opt);
    } catch (const Error& e) {
      fail(slot.name(l), "{}", e.what());
    }
    if (scorers[i]) by_site[slot.site].push_back(scorers[i].get());
  }
  feed_input_scorers(m, l, acts, by_site, size_t(m.pool().size()));
  return scorers;
}

// A copy of the windows' activations, its memory checked first (block training keeps the fp
// model's activations beside the quantized model's).
WindowActivations copy_activations(const WindowActivations& a, const std::string& what) {
  require_memory(a.bytes(), what, "--method");
  return a;
}

// Block training of a tuned method (slim+, rtn+, gptq+, fineq-*+) for decoder layer l, whose
// linears the method has just quantized: their trainable quantizers are trained against the fp
// layer's outputs and the row bakes them into tensors that replace the first results. `fp` holds the layer's linears before
// quantization; `kept` each site's calibration when the row's bake reads it.
void tune_layer(model::LlamaModel& m, int l, const MethodInfo& method, const MethodOptions& opt,
                const std::array<Tensor, kBlockLinears>& fp, const WindowActivations& inputs,
                const WindowActivations& targets, const WindowActivations* aug,
                const std::map<model::LinearSite, LayerCalibration>& kept, std::vector<LayerReport>& reports) {
  model::LayerWeights& layer = m.layer(l);
  BlockTuneJob job;
  job.config = &m.config(), job.vectors = &layer, job.inputs = &inputs, job.targets = &targets, job.aug_targets = aug;
  job.pool = &m.pool(), job.where = fmt::format("decoder layer {}", l);
  std::array<const formats::PackedTensor*, kBlockLinears> first{};
  for (size_t i = 0; i < kBlockLinears; ++i) {
    const auto* packed = dynamic_cast<const model::PackedLinear*>((layer.*model::linear_slots()[i].member).get());
    if (!packed) fail(job.where, "block training needs the layer's quantized linears");
    job.fp[i] = &fp[i], first[i] = &packed->packed();
  }
  job.make = [&](size_t i) { return method.tuning->make(fp[i], *first[i], opt); };
  BlockTuneReport report;
  const auto trained = tune_block_clipping(job, method.tuning->options(opt), &report);
  std::array<formats::PackedTensor, kBlockLinears> tuned;
  for (size_t i = 0; i < kBlockLinears; ++i) {
    const model::LinearSlot& slot = model::linear_slots()[i];
    static const LayerCalibration none;
    const auto site = kept.find(slot.site);
    try {
      tuned[i] = method.tuning->bake(*trained[i], *first[i], site == kept.end() ? none : site->second, opt);
    } catch (const Error& e) {
      fail(slot.name(l), "{}", e.what());
    }
    check_quantized(tuned[i], fp[i], slot.name(l));
    for (LayerReport& r : reports)
      if (r.name == slot.name(l))
        r.layout = formats::format_ops(tuned[i].format).layout(tuned[i]) +
                   fmt::format("; clipping trained: block loss {:.4g} → {:.4g}", report.first_loss, report.last_loss);
  }
  for (size_t i = 0; i < kBlockLinears; ++i)
    layer.*model::linear_slots()[i].member = std::make_unique<model::PackedLinear>(std::move(tuned[i]));
}

}  // namespace

void quantize_model(model::LlamaModel& m, const Calibration& calib, const MethodOptions& opt, const LayerCallback& on_layer,
                    const ResumeFrom& resume) {
  const MethodInfo& method = method_info(opt.method);
  validate_method_options(opt);
  static const std::vector<std::vector<int>> no_windows;
  const auto& windows = method.needs_calibration ? calib.windows : no_windows;
  if (windows.empty() && method.needs_calibration) fail("calibration", "method {} needs calibration windows", opt.method);
  const auto& cfg = m.config();
  const size_t len = windows.empty() ? 0 : windows[0].size();
  if (len > size_t(cfg.seq_len)) fail("calibration", "window of {} tokens exceeds the model's context {}", len, cfg.seq_len);
  WindowActivations acts(m, windows, calib.bf16_activations);
  // Block training (SliM-LLM+) also carries the fp model's activations: its targets.
  const ClipTuning* tuning = method.tuning ? &method.tuning->options(opt) : nullptr;
  // A bake that reads calibration (gptq+) keeps each site's Hessian until the block is trained.
  const bool keep_calibration = tuning && method.tuning->reads_calibration(opt);
  std::optional<WindowActivations> fp_acts;
  if (tuning) fp_acts = copy_activations(acts, "the fp model's activations (block training targets)");
  if (resume.first_layer < 0 || resume.first_layer > cfg.n_layers)
    fail("resume", "cannot start at layer {} of {}", resume.first_layer, cfg.n_layers);
  for (int l = 0; l < cfg.n_layers; ++l) {
    std::vector<LayerReport> reports;
    model::LayerWeights& layer = m.layer(l);
    if (l < resume.first_layer) {  // finished by a stopped run
      if (method.needs_calibration) {
        if (fp_acts) fp_acts->forward(m, l);  // the fp layer, before its stored result replaces it
        resume.restore(l, layer);
        acts.forward(m, l);
      }
      if (on_layer) on_layer(l, reports, {});
      continue;
    }
    load_layer_weights(layer);
    LayerTimes times;
    // Block training's data: the fp linears, the fp layer's outputs (targets, and the next layer's
    // fp inputs), and what the options add (the fp inputs themselves; the fp layer on the
    // quantized model's inputs for the aug loss).
    std::array<Tensor, kBlockLinears> fp_weights;
    std::optional<WindowActivations> fp_inputs, aug_targets;
    std::map<model::LinearSite, LayerCalibration> kept;
    if (tuning) {
      const auto t0 = std::chrono::steady_clock::now();
      for (size_t i = 0; i < kBlockLinears; ++i) fp_weights[i] = dense_weight_of(layer, model::linear_slots()[i], l);
      if (tuning->fp_inputs) fp_inputs = copy_activations(*fp_acts, "the fp model's inputs of a layer (fp-inputs)");
      if (tuning->aug_loss) {
        aug_targets = copy_activations(tuning->fp_inputs ? *fp_acts : acts, "the aug loss's targets (aug)");
        aug_targets->forward(m, l);
      }
      fp_acts->forward(m, l);
      times.tune += seconds_since(t0);
    }
    // One capture pass for the whole layer (published GPTQ), or one per stage so each stage
    // sees the outputs of the stages already quantized (true-sequential).
    const int stages = opt.true_sequential ? 4 : 1;
    for (int stage = 0; stage < stages; ++stage) {
      auto in_stage = [&](const model::LinearSlot& s) { return !opt.true_sequential || s.stage == stage; };
      LayerCapture acc;
      auto t0 = std::chrono::steady_clock::now();
      if (method.needs_calibration)
        acc = capture_layer(
            m, l, acts,
            [&](model::LinearSite site) {
              for (const auto& s : model::linear_slots())
                if (s.site == site && in_stage(s)) return true;
              return false;
            },
            /*keep_inputs=*/false, &times.hessian);
      times.capture += seconds_since(t0);
      t0 = std::chrono::steady_clock::now();
      const auto scorers = input_scorers(m, l, acts, acc, in_stage, opt);
      times.scoring += seconds_since(t0);
      for (size_t i = 0; i < model::linear_slots().size(); ++i) {
        const model::LinearSlot& slot = model::linear_slots()[i];
        if (!in_stage(slot)) continue;
        const auto start = std::chrono::steady_clock::now();
        std::unique_ptr<model::Linear>& linear = layer.*slot.member;
        const Tensor* w = &dense_weight_of(layer, slot, l);
        LayerCalibration linear_calib;
        if (method.needs_calibration) {
          SiteCapture& site = acc.at(slot.site);
          linear_calib = last_of_site(i, in_stage) ? site.take_calibration(m.pool()) : site.calibration(m.pool());
        }
        linear_calib.scorer = scorers[i];
        linear_calib.pool = &m.pool();
        formats::PackedTensor packed = quantize_checked(method, *w, linear_calib, opt, slot.name(l));
        reports.push_back({slot.name(l), packed.rows, packed.cols, packed.bits_per_weight(), seconds_since(start),
                           formats::format_ops(packed.format).layout(packed)});
        times.solve += reports.back().seconds;
        if (keep_calibration && !kept.contains(slot.site)) kept[slot.site].hessian = std::move(linear_calib.hessian);
        linear = std::make_unique<model::PackedLinear>(std::move(packed));  // frees the fp32 weight
      }
    }
    if (tuning) {
      const auto t0 = std::chrono::steady_clock::now();
      tune_layer(m, l, method, opt, fp_weights, fp_inputs ? *fp_inputs : acts, *fp_acts,
                 aug_targets ? &*aug_targets : nullptr, kept, reports);
      times.tune += seconds_since(t0);
    }
    const auto t0 = std::chrono::steady_clock::now();
    acts.forward(m, l);  // the quantized layer's output feeds the next layer's calibration
    times.forward = seconds_since(t0);
    times.capture -= times.hessian;
    if (on_layer) on_layer(l, reports, times);
  }
}


MethodOptions head_options(const std::string& spec) {
  MethodOptions opt;
  try {
    opt = parse_method_spec(spec);
    validate_method_options(opt);
  } catch (const Error& e) {
    fail("--head", "{}", e.what());
  }
  const MethodInfo& method = method_info(opt.method);
  if (method.needs_calibration || method.input_scorer)
    fail("--head", "'{}': the head is quantized without calibration; use rtn or fineq-rtn", spec);
  return opt;
}

double quantize_head(model::LlamaModel& m, const MethodOptions& opt) {
  const model::Linear& head = *m.weights().classifier;
  const std::string name = io::names::classifier();
  Tensor w;
  if (const Tensor* d = head.dense_weight()) w = *d;
  else if (const io::StoredTensor* s = head.stored_weight()) w = s->to_f32(), s->release_pages();
  else fail(name, "is already quantized");
  formats::PackedTensor packed = quantize_checked(method_info(opt.method), w, {}, opt, name);
  const double bits = packed.bits_per_weight();
  m.replace_classifier(std::make_unique<model::PackedLinear>(std::move(packed)));
  return bits;
}

namespace {
nlohmann::json calibration_record(const Calibration& calib, const MethodOptions& opt) {
  return method_info(opt.method).needs_calibration ? calib.record : nlohmann::json::object();
}
}  // namespace

QuantizationRecord quantize_with_record(model::LlamaModel& model, const Calibration& calib, const MethodOptions& opt,
                                        const LayerCallback& on_layer, const ResumeFrom& resume) {
  const auto t0 = std::chrono::steady_clock::now();
  quantize_model(model, calib, opt, on_layer, resume);
  QuantizationRecord r;
  r.method = method_options_json(opt);
  r.calibration = calibration_record(calib, opt);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

nlohmann::json run_identity(const std::string& model_path, const io::LlamaConfig& config, const io::Tokenizer& tok,
                            const MethodOptions& opt, const Calibration& calib) {
  std::error_code ec;
  const auto canonical = std::filesystem::weakly_canonical(model_path, ec);
  const std::string& tok_bytes = tok.file_bytes();
  return {{"model", ec ? model_path : canonical.string()},
          {"config", nlohmann::json::parse(io::hf_config_json(config, io::DType::F32))},
          {"tokenizer", fnv1a64_label(fnv1a64(reinterpret_cast<const uint8_t*>(tok_bytes.data()), tok_bytes.size()))},
          {"method", method_options_json(opt)},
          {"calibration", calibration_record(calib, opt)},
          {"file_version", kQuantizedFileVersion}};
}

}  // namespace mixq::quant
