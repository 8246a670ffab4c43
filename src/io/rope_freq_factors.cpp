#include "mixq/io/rope_freq_factors.hpp"

#include <algorithm>
#include <cmath>

namespace mixq::io {
namespace {

// conversion/llama.py generate_extra_tensors, in its float32 arithmetic.
std::vector<float> llama3_factors(const LlamaConfig& c, const RopeScaling& r) {
  const int dim = c.head_size();
  const float low_wavelen = float(r.original_context) / r.low_freq_factor;
  const float high_wavelen = float(r.original_context) / r.high_freq_factor;
  std::vector<float> out;
  for (int i = 0; i < dim; i += 2) {
    const float freq = 1.f / std::pow(c.rope_theta, float(i) / float(dim));
    const float wavelen = float(2 * M_PI) / freq;
    if (wavelen < high_wavelen) {
      out.push_back(1.f);
    } else if (wavelen > low_wavelen) {
      out.push_back(r.factor);
    } else {
      const float smooth = (float(r.original_context) / wavelen - r.low_freq_factor) / (r.high_freq_factor - r.low_freq_factor);
      out.push_back(1.f / ((1.f - smooth) / r.factor + smooth));
    }
  }
  return out;
}

bool nearly_equal(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return false;
  for (size_t j = 0; j < a.size(); ++j)
    if (!(std::fabs(a[j] - b[j]) <= 1e-5f * std::max(std::fabs(a[j]), std::fabs(b[j])))) return false;
  return true;
}

// The `factor` of the released Llama-3 parameters that the longest wavelength's divisor implies:
// the divisor itself when that wavelength is past the original context, else solved from the
// blend 1 / ((1 − s) / factor + s) (a small model's head may reach only the band); an integer when
// within rounding of one, as every released factor is. 0 when it cannot be one.
float released_llama3_factor(const std::vector<float>& factors, const LlamaConfig& c) {
  if (factors.empty() || !std::isfinite(factors.back()) || !(factors.back() >= 1.f)) return 0.f;
  const int dim = c.head_size();
  const double freq = 1.0 / std::pow(double(c.rope_theta), double(dim - 2) / dim);
  const double wavelen = 2 * M_PI / freq, s = (8192.0 / wavelen - 1.0) / 3.0;
  double factor = factors.back();
  if (s > 0 && s < 1) factor = (1 - s) / (1 / factor - s);
  if (!(factor >= 1) || !std::isfinite(factor)) return 0.f;
  if (std::fabs(factor - std::round(factor)) < 1e-3 * factor) factor = std::round(factor);
  return float(factor);
}

}  // namespace

std::vector<float> rope_freq_factors(const LlamaConfig& c) {
  const RopeScaling& r = c.rope_scaling;
  if (r.type == RopeScaling::Type::Llama3) return llama3_factors(c, r);
  if (r.type == RopeScaling::Type::FreqFactors) return r.freq_factors;
  return {};
}

RopeScaling rope_scaling_of_freq_factors(std::vector<float> factors, const LlamaConfig& c) {
  RopeScaling r;
  if (std::all_of(factors.begin(), factors.end(), [](float f) { return f == 1.f; })) return r;
  if (const float factor = released_llama3_factor(factors, c); factor >= 1.f) {
    RopeScaling llama3{RopeScaling::Type::Llama3, factor, 1.f, 4.f, 8192, {}};
    if (nearly_equal(llama3_factors(c, llama3), factors)) return llama3;
  }
  r.type = RopeScaling::Type::FreqFactors;
  r.freq_factors = std::move(factors);
  return r;
}

}  // namespace mixq::io
