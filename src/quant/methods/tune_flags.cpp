// The tuned methods' shared flags (tune_flags.hpp).
#include "mixq/quant/methods/tune_flags.hpp"

#include <fmt/format.h>

#include "mixq/quant/methods/method.hpp"

namespace mixq::quant {

TuneFlags parse_tune_flags(const MethodArgs& a) {
  TuneFlags out;
  for (const auto& f : a.flags)
    if (f.text == "official") out.official = true;
  if (out.official) out.tune = ClipTuning::official();
  ClipTuning& t = out.tune;
  for (const auto& f : a.flags) {
    auto value = [&](size_t prefix) { return MethodArgs::Word{f.text.substr(prefix), f.origin}; };
    if (f.text.starts_with("epochs=")) t.epochs = spec_integer(a, value(7), "epochs");
    else if (f.text.starts_with("lr=")) t.lr = spec_number(a, value(3), "learning rate");
    else if (f.text.starts_with("batch=")) t.batch = spec_integer(a, value(6), "batch");
    else if (f.text.starts_with("windows=")) t.windows = spec_integer(a, value(8), "windows");
    else if (f.text == "fp-inputs") t.fp_inputs = true;
    else if (f.text == "aug") t.aug_loss = true;
    else out.rest.push_back(f);
  }
  return out;
}

MethodOptions parse_untuned_options(const MethodArgs& a, const TuneFlags& t, const MethodInfo& base, const std::string& tuned) {
  MethodArgs rest = a;
  rest.flags.clear();
  for (const auto& f : t.rest)
    if (f.text != "official") rest.flags.push_back(f);
  MethodOptions b;
  b.method = base.name;
  try {
    base.parse(rest, b);
  } catch (const Error& e) {
    fail(a.where, "{} ({} also takes {})", e.what(), tuned, kTuneFlags);
  }
  t.tune.validate();
  return b;
}

std::string tune_spec_tail(const ClipTuning& t, bool official) {
  const ClipTuning d = official ? ClipTuning::official() : ClipTuning{};
  std::string out;
  if (t.epochs != d.epochs) out += fmt::format("+epochs={}", t.epochs);
  if (t.lr != d.lr) out += fmt::format("+lr={}", t.lr);
  if (t.batch != d.batch) out += fmt::format("+batch={}", t.batch);
  if (t.windows != d.windows) out += fmt::format("+windows={}", t.windows);
  if (t.fp_inputs) out += "+fp-inputs";
  if (t.aug_loss && !d.aug_loss) out += "+aug";
  return out;
}

}  // namespace mixq::quant
