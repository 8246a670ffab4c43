// fineq-rtn+ and fineq-gptq+ (fineq_plus.hpp): the rows of the method table. The first result of
// each linear is fineq-rtn (its searched steps start the training); the driver trains the block's
// steps and the row bakes them: fineq-rtn+ by encoding at the trained steps, fineq-gptq+ by
// fineq-gptq at them with the linear's Hessian, which the driver keeps for it.
#include "mixq/quant/methods/fineq_plus.hpp"

#include "mixq/core/half.hpp"
#include "mixq/quant/methods/method.hpp"
#include "mixq/quant/methods/tune_flags.hpp"
#include "mixq/quant/tune/learnable_step.hpp"

namespace mixq::quant {
namespace {

const MethodInfo& base_of(const MethodOptions& o) {
  return o.method == kFineqGptqPlusMethod.name ? kFineqGptqMethod : kFineqRtnMethod;
}

// The untuned method's options: what its own row parses, validates and records.
MethodOptions base_part(const MethodOptions& o) {
  MethodOptions b = o;
  b.method = base_of(o).name;
  b.params = o.get<FineqPlusOptions>().fineq;
  return b;
}

void parse_fineq_plus(const MethodArgs& a, MethodOptions& o) {
  const TuneFlags t = parse_tune_flags(a);
  const MethodOptions b = parse_untuned_options(a, t, base_of(o), o.method);
  o.true_sequential = b.true_sequential;
  o.params = FineqPlusOptions{b.get<FineqOptions>(), t.tune, t.official};
}

std::string fineq_plus_spec_tail(const MethodOptions& o) {
  const FineqPlusOptions& p = o.get<FineqPlusOptions>();
  return base_of(o).spec_tail(base_part(o)) + (p.official ? "+official" : "") + tune_spec_tail(p.tune, p.official);
}

void validate_fineq_plus(const MethodOptions& o) {
  base_of(o).validate(base_part(o));
  o.get<FineqPlusOptions>().tune.validate();
}

nlohmann::json fineq_plus_params_json(const MethodOptions& o) {
  const FineqPlusOptions& p = o.get<FineqPlusOptions>();
  nlohmann::json j = base_of(o).params_json(base_part(o));
  j["tune"] = p.tune.to_json();
  if (p.official) j["official"] = true;
  return j;
}

std::string fineq_plus_label(const MethodOptions& o) { return base_of(o).label(base_part(o)) + " +Δ"; }

// fineq-rtn's searched steps: where the training starts.
formats::PackedTensor quantize_first(const Tensor& w, const LayerCalibration&, const MethodOptions& o) {
  return quantize_fineq_rtn(w, {}, base_part(o));
}

const ClipTuning& fineq_plus_tuning(const MethodOptions& o) { return o.get<FineqPlusOptions>().tune; }

std::unique_ptr<TrainableQuantizer> make_fineq_plus(const Tensor& w, const formats::PackedTensor& first, const MethodOptions& o) {
  const auto& scales = first.part("scales").bytes;
  std::vector<float> steps(scales.size() / 2);
  for (size_t k = 0; k < steps.size(); ++k) steps[k] = f16_to_f32(uint16_t(scales[2 * k] | (scales[2 * k + 1] << 8)));
  return std::make_unique<LearnableStep>(w, o.get<FineqPlusOptions>().fineq.format, std::move(steps));
}

formats::PackedTensor bake_fineq_rtn_plus(const TrainableQuantizer& q, const formats::PackedTensor&, const LayerCalibration&,
                                          const MethodOptions&) {
  return static_cast<const LearnableStep&>(q).bake();  // make_fineq_plus made it
}

formats::PackedTensor bake_fineq_gptq_plus(const TrainableQuantizer& q, const formats::PackedTensor&,
                                           const LayerCalibration& calib, const MethodOptions& o) {
  const auto& step = static_cast<const LearnableStep&>(q);
  return quantize_fineq_gptq(step.weights(), calib.hessian, base_part(o), step.steps());
}

const BlockTuning kFineqRtnPlusTuning = {&fineq_plus_tuning, &make_fineq_plus, &bake_fineq_rtn_plus, &bake_reads_no_calibration};
const BlockTuning kFineqGptqPlusTuning = {&fineq_plus_tuning, &make_fineq_plus, &bake_fineq_gptq_plus, &bake_runs_gptq};

#define MIXQ_FINEQ_PLUS_GRAMMAR \
  "[:GROUP|row][+paper][+ratio|+min-error|+best-mode][+t=T][+int3-wide|fine][+int2-twos|sym]" MIXQ_TUNE_GRAMMAR

}  // namespace

const MethodInfo kFineqRtnPlusMethod = {"fineq-rtn+",
                                        "fineq",
                                        MIXQ_FINEQ_PLUS_GRAMMAR,
                                        /*takes_bits=*/false,
                                        /*needs_calibration=*/true,  // the training's windows
                                        /*input_scorer=*/nullptr,
                                        &parse_fineq_plus,
                                        &fineq_plus_spec_tail,
                                        &validate_fineq_plus,
                                        &fineq_plus_params_json,
                                        &fineq_plus_label,
                                        &quantize_first,
                                        &kFineqRtnPlusTuning};

const MethodInfo kFineqGptqPlusMethod = {"fineq-gptq+",
                                         "fineq",
                                         MIXQ_FINEQ_PLUS_GRAMMAR "[+true-seq]",
                                         /*takes_bits=*/false,
                                         /*needs_calibration=*/true,
                                         /*input_scorer=*/nullptr,
                                         &parse_fineq_plus,
                                         &fineq_plus_spec_tail,
                                         &validate_fineq_plus,
                                         &fineq_plus_params_json,
                                         &fineq_plus_label,
                                         &quantize_first,
                                         &kFineqGptqPlusTuning};

}  // namespace mixq::quant
