// rtn+ and gptq+ (uniform_plus.hpp): the rows of the method table. The first result of each linear
// is plain RTN (it fixes only the layout: bits and groups); the driver trains the block's clipping
// and the row bakes it: rtn+ by rounding on the trained grids, gptq+ by GPTQ on them with the
// linear's Hessian, which the driver keeps for it.
#include "mixq/quant/methods/uniform_plus.hpp"

#include "mixq/quant/methods/gptq.hpp"
#include "mixq/quant/methods/method.hpp"
#include "mixq/quant/methods/rtn.hpp"
#include "mixq/quant/methods/tune_flags.hpp"
#include "mixq/quant/tune/learnable_clip.hpp"

namespace mixq::quant {
namespace {

// The untuned method's options: what its own row parses, validates and records.
MethodOptions base_part(const MethodOptions& o, const MethodInfo& base) {
  MethodOptions b = o;
  b.method = base.name;
  b.params = o.get<UniformPlusOptions>().uniform;
  return b;
}

const MethodInfo& base_of(const MethodOptions& o) { return o.method == kGptqPlusMethod.name ? kGptqMethod : kRtnMethod; }

void parse_uniform_plus(const MethodArgs& a, MethodOptions& o) {
  if (!a.bits) fail(a.where, "expected {}:BITS[:GROUP]" MIXQ_TUNE_GRAMMAR ", e.g. {}:2:128", o.method, o.method);
  const TuneFlags t = parse_tune_flags(a);
  for (const auto& f : t.rest)
    if (f.text == "sym" || f.text == "mse")
      fail(a.where, "{}: {} trains an asymmetric clipping range; it takes neither +sym nor +mse", f.origin, o.method);
  const MethodOptions b = parse_untuned_options(a, t, base_of(o), o.method);
  o.act_order = b.act_order, o.true_sequential = b.true_sequential;
  o.params = UniformPlusOptions{b.get<UniformOptions>(), t.tune, t.official};
}

std::string uniform_plus_spec_tail(const MethodOptions& o) {
  const UniformPlusOptions& p = o.get<UniformPlusOptions>();
  return uniform_spec_tail(base_part(o, base_of(o))) + (p.official ? "+official" : "") + tune_spec_tail(p.tune, p.official);
}

void validate_uniform_plus(const MethodOptions& o) {
  const UniformPlusOptions& p = o.get<UniformPlusOptions>();
  if (p.uniform.format.symmetric || o.mse_clip)
    fail(o.method, "trains an asymmetric clipping range; symmetric grids and +mse do not apply");
  base_of(o).validate(base_part(o, base_of(o)));
  p.tune.validate();
}

nlohmann::json uniform_plus_params_json(const MethodOptions& o) {
  const UniformPlusOptions& p = o.get<UniformPlusOptions>();
  nlohmann::json j = uniform_params_json(base_part(o, base_of(o)));
  j["tune"] = p.tune.to_json();
  if (p.official) j["official"] = true;
  return j;
}

std::string uniform_plus_label(const MethodOptions& o) { return uniform_label(base_part(o, base_of(o))) + " +LWC"; }

// The layout only: bits and groups (the trained clipping replaces its grids).
formats::PackedTensor quantize_first(const Tensor& w, const LayerCalibration&, const MethodOptions& o) {
  return quantize_rtn(w, {o.get<UniformPlusOptions>().uniform.format, false});
}

const ClipTuning& uniform_plus_tuning(const MethodOptions& o) { return o.get<UniformPlusOptions>().tune; }

// The clipping of every group at the format's bits.
std::unique_ptr<TrainableQuantizer> make_uniform_plus(const Tensor& w, const formats::PackedTensor&, const MethodOptions& o) {
  const UniformPlusOptions& p = o.get<UniformPlusOptions>();
  const formats::UniformParams& f = p.uniform.format;
  return std::make_unique<LearnableClip>(w, std::vector<int>(size_t(f.groups(w.cols())), f.bits), f.group_size(w.cols()),
                                         p.tune.init, p.tune.init_binary);
}

formats::PackedTensor bake_rtn_plus(const TrainableQuantizer& q, const formats::PackedTensor&, const LayerCalibration&,
                                    const MethodOptions& o) {
  return static_cast<const LearnableClip&>(q).bake_uniform(o.get<UniformPlusOptions>().uniform.format);
}

formats::PackedTensor bake_gptq_plus(const TrainableQuantizer& q, const formats::PackedTensor&, const LayerCalibration& calib,
                                     const MethodOptions& o) {
  const auto& clip = static_cast<const LearnableClip&>(q);  // make_uniform_plus made it
  return quantize_gptq(clip.weights(), calib.hessian, base_part(o, kGptqMethod),
                       clip.grids());
}

const BlockTuning kRtnPlusTuning = {&uniform_plus_tuning, &make_uniform_plus, &bake_rtn_plus, &bake_reads_no_calibration};
const BlockTuning kGptqPlusTuning = {&uniform_plus_tuning, &make_uniform_plus, &bake_gptq_plus, &bake_runs_gptq};

}  // namespace

const MethodInfo kRtnPlusMethod = {"rtn+",
                                   "uniform",
                                   ":BITS[:GROUP|row]" MIXQ_TUNE_GRAMMAR,
                                   /*takes_bits=*/true,
                                   /*needs_calibration=*/true,  // the training's windows
                                   /*input_scorer=*/nullptr,
                                   &parse_uniform_plus,
                                   &uniform_plus_spec_tail,
                                   &validate_uniform_plus,
                                   &uniform_plus_params_json,
                                   &uniform_plus_label,
                                   &quantize_first,
                                   &kRtnPlusTuning};

const MethodInfo kGptqPlusMethod = {"gptq+",
                                    "uniform",
                                    ":BITS[:GROUP|row]" MIXQ_TUNE_GRAMMAR "[+act-order][+true-seq]",
                                    /*takes_bits=*/true,
                                    /*needs_calibration=*/true,
                                    /*input_scorer=*/nullptr,
                                    &parse_uniform_plus,
                                    &uniform_plus_spec_tail,
                                    &validate_uniform_plus,
                                    &uniform_plus_params_json,
                                    &uniform_plus_label,
                                    &quantize_first,
                                    &kGptqPlusTuning};

}  // namespace mixq::quant
