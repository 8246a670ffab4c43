// SliM-LLM+ (slim_plus.hpp): the row of the method table. Each linear is first quantized by slim
// (its SBA widths are what is kept); the driver then trains the block's clipping
// (tune/block_tuning.hpp) and stores the baked result in the same slim format.
#include "mixq/quant/methods/slim_plus.hpp"

#include "mixq/quant/methods/method.hpp"
#include "mixq/quant/methods/tune_flags.hpp"
#include "mixq/quant/tune/learnable_clip.hpp"

namespace mixq::quant {
namespace {

// The options slim itself runs with: the allocation's, without SQC (the trained clipping replaces
// the grids it would calibrate).
MethodOptions slim_part(const MethodOptions& o) {
  MethodOptions s = o;
  s.method = kSlimMethod.name;
  s.params = o.get<SlimPlusOptions>().slim;
  s.get<SlimOptions>().sqc = false;
  return s;
}

// Tuning flags are read here; the others go to slim's parser ("official" to both).
void parse_slim_plus(const MethodArgs& a, MethodOptions& o) {
  if (!a.bits) fail(a.where, "expected slim+:N[:GROUP]" MIXQ_TUNE_GRAMMAR);
  TuneFlags t = parse_tune_flags(a);
  MethodArgs rest = a;
  rest.flags.clear();
  bool bake_gptq = false;
  for (const auto& f : t.rest) {
    if (f.text == "bake-gptq") {
      bake_gptq = true;
      continue;
    }
    if (f.text == "sqc" || f.text == "no-sqc" || f.text.starts_with("lambda=") || f.text.starts_with("mask-"))
      fail(a.where, "{}: slim+ trains its grids; SQC's options do not apply", f.origin);
    rest.flags.push_back(f);
  }
  MethodOptions s;
  try {
    kSlimMethod.parse(rest, s);
  } catch (const Error& e) {
    fail(a.where, "{} (slim+ also takes {}, bake-gptq)", e.what(), kTuneFlags);
  }
  t.tune.validate();
  o.true_sequential = s.true_sequential;
  o.params = SlimPlusOptions{s.get<SlimOptions>(), t.tune, bake_gptq};
}

std::string slim_plus_spec_tail(const MethodOptions& o) {
  const SlimPlusOptions& p = o.get<SlimPlusOptions>();
  std::string out = kSlimMethod.spec_tail(slim_part(o));
  // slim's tail says +no-sqc for the part slim runs; slim+ never takes it.
  if (const size_t at = out.find("+no-sqc"); at != std::string::npos) out.erase(at, 7);
  return out + tune_spec_tail(p.tune, p.slim.official) + (p.bake_gptq ? "+bake-gptq" : "");
}

void validate_slim_plus(const MethodOptions& o) {
  kSlimMethod.validate(slim_part(o));
  o.get<SlimPlusOptions>().tune.validate();
}

nlohmann::json slim_plus_params_json(const MethodOptions& o) {
  const SlimPlusOptions& p = o.get<SlimPlusOptions>();
  nlohmann::json j = kSlimMethod.params_json(slim_part(o));
  j["tune"] = p.tune.to_json();
  if (p.bake_gptq) j["bake"] = "gptq";  // only then: files of the published bake keep their bytes
  return j;
}

std::unique_ptr<InputScorer> slim_plus_input_scorer(const Tensor& w, const LayerCalibration& calib, const MethodOptions& o) {
  return kSlimMethod.input_scorer(w, calib, slim_part(o));
}

std::string slim_plus_label(const MethodOptions& o) { return kSlimMethod.label(slim_part(o)) + " +LWC"; }

formats::PackedTensor quantize_slim_plus(const Tensor& w, const LayerCalibration& calib, const MethodOptions& o) {
  return quantize_slim(w, calib, slim_part(o));
}

const ClipTuning& slim_plus_tuning(const MethodOptions& o) { return o.get<SlimPlusOptions>().tune; }

// The clipping of slim's widths and groups.
std::unique_ptr<TrainableQuantizer> make_slim_plus(const Tensor& w, const formats::PackedTensor& first, const MethodOptions& o) {
  const ClipTuning& t = o.get<SlimPlusOptions>().tune;
  return std::make_unique<LearnableClip>(w, formats::SlimFormat::widths(first), first.params_as<formats::SlimParams>().group,
                                         t.init, t.init_binary);
}

formats::PackedTensor bake_slim_plus(const TrainableQuantizer& q, const formats::PackedTensor& first,
                                     const LayerCalibration& calib, const MethodOptions& o) {
  const auto& clip = static_cast<const LearnableClip&>(q);  // make_slim_plus made it
  const auto& recorded = first.params_as<formats::SlimParams>();
  if (!o.get<SlimPlusOptions>().bake_gptq) return clip.bake_slim(recorded);
  std::vector<uint8_t> codes;
  std::vector<float> scales, zeros;
  clip.quantized(codes, scales, zeros);
  return quantize_slim_on_grids(clip.weights(), calib, slim_part(o), clip.widths(),
                                scales, zeros, recorded);
}

bool bakes_with_gptq(const MethodOptions& o) { return o.get<SlimPlusOptions>().bake_gptq; }

const BlockTuning kSlimPlusTuning = {&slim_plus_tuning, &make_slim_plus, &bake_slim_plus, &bakes_with_gptq};

}  // namespace

const MethodInfo kSlimPlusMethod = {"slim+",
                                    "slim",
                                    ":N[:GROUP]" MIXQ_TUNE_GRAMMAR "[+bake-gptq][+no-sba][+kl-fp-q|+kl-q-fp][+search-rtn|+search-gptq][+true-seq]",
                                    /*takes_bits=*/true,
                                    /*needs_calibration=*/true,
                                    &slim_plus_input_scorer,
                                    &parse_slim_plus,
                                    &slim_plus_spec_tail,
                                    &validate_slim_plus,
                                    &slim_plus_params_json,
                                    &slim_plus_label,
                                    &quantize_slim_plus,
                                    &kSlimPlusTuning};

}  // namespace mixq::quant
