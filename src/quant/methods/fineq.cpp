// FineQ methods (docs/DESIGN.md "FineQ"): the step search and cluster encoding shared by fineq-rtn and
// fineq-gptq, and their rows of the method table.
#include "mixq/quant/methods/fineq.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "mixq/core/error.hpp"
#include "mixq/core/half.hpp"
#include "mixq/core/enum_names.hpp"
#include "mixq/kernels/fineq_step.hpp"
#include "mixq/quant/methods/gptq.hpp"
#include "quant/methods/input_checks.hpp"
#include "mixq/quant/methods/method.hpp"

namespace mixq::quant {

// The cluster's mode under the rule. ratio: magnitudes only. min-error: whichever encoding (three
// INT2, or the smallest pruned and two INT3) reconstructs it better at Δ. best-mode (ours):
// the best of all four modes (any weight may be pruned) under the importance-weighted error —
// with GPTQ the importance of column k is 1/U_kk², GPTQ's own cost of an error there.
int fineq_cluster_mode(const float w[3], float delta, const formats::FineqParams& p, const formats::FineqGrids& g,
                       const float* importance) {
  if (p.rule == formats::FineqRule::Ratio) return formats::fineq_ratio_mode(w, p.threshold);
  if (p.rule == formats::FineqRule::MinError) {
    const float a[3] = {std::fabs(w[0]), std::fabs(w[1]), std::fabs(w[2])};
    const int smallest = int(std::min_element(a, a + 3) - a);
    float e2 = 0, e3 = 0;
    formats::fineq_encode(w, delta, -1, g, &e2);
    formats::fineq_encode(w, delta, smallest, g, &e3);
    return e3 < e2 ? smallest : -1;
  }
  int best = -1;
  float best_err = INFINITY;
  for (int mode = -1; mode < 3; ++mode) {
    float e;
    formats::fineq_encode(w, delta, mode, g, &e, importance);
    if (e < best_err) best_err = e, best = mode;
  }
  return best;
}

namespace {

constexpr int kStepCandidates = 100;

float round_to_f16(float v) { return f16_to_f32(f32_to_f16(v)); }

// Δ for the weights v[0, n) (n a multiple of 3, zero-padded) minimizing their squared error
// (importance-weighted under the best-mode rule; importance may be null) under the cluster rule: 100
// candidates from 0.3 to 1.6 × the step that puts max|v| at the INT3 grid's end, each rounded to
// fp16 as it will be stored. Never plain absmax.
float search_step(const float* v, int64_t n, const formats::FineqParams& p, const formats::FineqGrids& g, const float* importance) {
  float amax = 0;
  for (int64_t i = 0; i < n; ++i) amax = std::max(amax, std::fabs(v[i]));
  if (amax == 0) return 0.f;
  if (p.rule != formats::FineqRule::BestMode) importance = nullptr;
  const float base = amax / (p.int3 == formats::FineqInt3::Fine ? 2.f : 4.f);
  float best = round_to_f16(base), best_err = INFINITY;
  for (int k = 0; k < kStepCandidates; ++k) {
    const float delta = round_to_f16(base * (0.3f + 1.3f * float(k) / float(kStepCandidates - 1)));
    if (delta <= 0) continue;
    float total = 0;
    if (p.rule == formats::FineqRule::BestMode) {
      total = kernels::fineq_best_mode_error(v, n, delta, g, importance);  // the same bits, vectorized
    } else {
      for (int64_t c = 0; c < n; c += 3) {
        float e;
        formats::fineq_encode(v + c, delta, fineq_cluster_mode(v + c, delta, p, g, nullptr), g, &e);
        total += e;
      }
    }
    if (total < best_err) best_err = total, best = delta;
  }
  return best;
}

// The row-major weights padded with zero columns to a multiple of 3.
std::vector<float> padded(const Tensor& w, int64_t cp) {
  const int64_t rows = w.rows(), cols = w.cols();
  std::vector<float> out(size_t(rows * cp), 0.f);
  for (int64_t r = 0; r < rows; ++r) std::copy_n(&w.data[size_t(r * cols)], cols, &out[size_t(r * cp)]);
  return out;
}

}  // namespace

formats::PackedTensor quantize_fineq_rtn(const Tensor& w, const std::vector<double>&, const MethodOptions& o, ThreadPool* pool) {
  const formats::FineqParams& p = o.get<FineqOptions>().format;
  p.validate();
  check_weight(w, "fineq-rtn");
  const formats::FineqGrids g(p);
  const int64_t rows = w.rows(), cols = w.cols(), cp = p.padded_cols(cols), gs = p.group_size(cols), groups = p.groups(cols);
  const auto wp = padded(w, cp);
  std::vector<uint8_t> bytes(size_t(rows * cp / 3));
  std::vector<float> scales(size_t(rows * groups));
  auto quantize_rows = [&](size_t r0, size_t r1) {
    for (int64_t r = int64_t(r0); r < int64_t(r1); ++r)
      for (int64_t gi = 0; gi < groups; ++gi) {
        const float* v = &wp[size_t(r * cp + gi * gs)];
        const int64_t len = std::min(cp, (gi + 1) * gs) - gi * gs;
        const float delta = search_step(v, len, p, g, nullptr);
        scales[size_t(r * groups + gi)] = delta;
        for (int64_t c = 0; c < len; c += 3)
          bytes[size_t(r * cp / 3 + (gi * gs + c) / 3)] = formats::fineq_encode(v + c, delta, fineq_cluster_mode(v + c, delta, p, g, nullptr), g);
      }
  };
  if (pool) pool->parallel_for(size_t(rows), quantize_rows);
  else quantize_rows(0, size_t(rows));
  return formats::FineqFormat::pack(rows, cols, bytes, scales, p);
}

formats::PackedTensor quantize_fineq_gptq(const Tensor& w_in, const std::vector<double>& h_in, const MethodOptions& o,
                                          std::span<const float> fixed_steps, ThreadPool* pool) {
  const formats::FineqParams& p = o.get<FineqOptions>().format;
  p.validate();
  check_weight(w_in, "fineq-gptq");
  const formats::FineqGrids g(p);
  const int64_t rows = w_in.rows(), cols = w_in.cols(), cp = p.padded_cols(cols), gs = p.group_size(cols),
                groups = p.groups(cols);
  check_hessian(h_in, cols, "fineq-gptq");
  // Padding columns are dead inputs: H_jj = 0 there, so they stay exactly 0.
  std::vector<float> w = padded(w_in, cp);
  std::vector<double> h(size_t(cp * cp), 0.0);
  for (int64_t i = 0; i < cols; ++i) std::copy_n(&h_in[size_t(i * cols)], cols, &h[size_t(i * cp)]);
  zero_dead_inputs(w, h, rows, cp);

  std::vector<uint8_t> bytes(size_t(rows * cp / 3));
  std::vector<float> scales(size_t(rows * groups));
  const bool fixed = !fixed_steps.empty();
  if (fixed && fixed_steps.size() != scales.size())
    fail("fineq-gptq", "{} fixed steps for {} rows × {} groups", fixed_steps.size(), rows, groups);
  if (fixed) std::copy(fixed_steps.begin(), fixed_steps.end(), scales.begin());
  std::vector<int> mode(static_cast<size_t>(rows));
  std::vector<float> cluster(size_t(rows * 3));  // the cluster's values as they are quantized
  const formats::FineqDecodeTable table = formats::fineq_decode_table(p);
  std::vector<float> importance(static_cast<size_t>(cp));  // 1/U_kk², for the best-mode rule
  const int64_t block = std::max<int64_t>(3, o.block / 3 * 3);  // clusters never straddle a block
  gptq_error_feedback(
      w, std::move(h), rows, cp, {}, o.damp, block,
      [&](int64_t j, const std::vector<float>& cur, const float* u_diag, float* q) {
        const int64_t c = j / 3, t = j % 3, gi = j / gs;
        if (j == 0)
          for (int64_t k = 0; k < cp; ++k) importance[size_t(k)] = 1.f / (u_diag[k] * u_diag[k]);
        if (!fixed && j % gs == 0) {  // a new group: its step from the error-updated weights
          auto search_rows = [&](size_t r0, size_t r1) {
            for (int64_t r = int64_t(r0); r < int64_t(r1); ++r)
              scales[size_t(r * groups + gi)] =
                  search_step(&cur[size_t(r * cp + j)], std::min(cp, j + gs) - j, p, g, &importance[size_t(j)]);
          };
          if (pool) pool->parallel_for(size_t(rows), search_rows);
          else search_rows(0, size_t(rows));
        }
        for (int64_t r = 0; r < rows; ++r) {
          const float delta = scales[size_t(r * groups + gi)];
          float* cl = &cluster[size_t(r * 3)];
          if (t == 0) {  // the cluster's mode, from the current weights, then frozen
            std::copy_n(&cur[size_t(r * cp + j)], 3, cl);
            mode[size_t(r)] = fineq_cluster_mode(cl, delta, p, g, &importance[size_t(j)]);
          }
          cl[t] = cur[size_t(r * cp + j)];  // re-read: earlier columns of the cluster updated it
          // Encode the cluster with the columns so far quantized and this one; take this one's value.
          const uint8_t byte = formats::fineq_encode(cl, delta, mode[size_t(r)], g);
          q[r] = float(table[byte][size_t(t)]) * delta / 2;
          cl[t] = q[r];
          if (t == 2) bytes[size_t(r * cp / 3 + c)] = byte;
        }
      },
      "fineq-gptq");
  return formats::FineqFormat::pack(rows, cols, bytes, scales, p);
}

namespace {

void parse_fineq(const MethodArgs& a, MethodOptions& o) {
  FineqOptions f;
  f.format.group = a.group ? spec_group(a, *a.group) : 0;
  for (const auto& w : a.flags) {
    auto& p = f.format;
    if (w.text.starts_with("t=")) p.threshold = spec_number(a, {w.text.substr(2), w.origin}, "threshold");
    else if (w.text == "paper") {  // the paper's rule and grids; group and threshold as given
      const formats::FineqParams given = p;
      p = formats::FineqParams::paper();
      p.group = given.group;
      p.threshold = given.threshold;
    } else if (parse_prefixed_enum(w.text, "", p.rule) || parse_prefixed_enum(w.text, "int3-", p.int3) ||
               parse_prefixed_enum(w.text, "int2-", p.int2)) continue;
    else if (w.text == "true-seq") o.true_sequential = true;
    else unknown_flag(a, w, "paper, t=T, ratio, min-error, best-mode, int3-wide, int3-fine, int2-twos, int2-sym, true-seq");
  }
  f.format.validate();
  o.params = f;
}

std::string fineq_spec_tail(const MethodOptions& o) {
  const auto& f = o.get<FineqOptions>().format;
  const formats::FineqParams d;
  std::string s = ":" + (f.group > 0 ? std::to_string(f.group) : std::string("row"));
  if (f.rule != d.rule) s += std::string("+") + enum_name(f.rule);
  if (f.threshold != d.threshold) s += fmt::format("+t={}", f.threshold);
  if (f.int3 != d.int3) s += std::string("+int3-") + enum_name(f.int3);
  if (f.int2 != d.int2) s += std::string("+int2-") + enum_name(f.int2);
  if (o.true_sequential) s += "+true-seq";
  return s;
}

void validate_fineq(const MethodOptions& o) {
  o.get<FineqOptions>().format.validate();
  if (o.mse_clip || o.act_order) fail(o.method, "takes neither --mse nor --act-order");
}

nlohmann::json fineq_params_json(const MethodOptions& o) { return o.get<FineqOptions>().format.to_json(); }

std::string fineq_label(const MethodOptions& o) {
  const auto& f = o.get<FineqOptions>().format;
  return fmt::format("fineq {} T{} {} {}/{}", f.group > 0 ? fmt::format("g{}", f.group) : "row", f.threshold,
                     enum_name(f.rule), enum_name(f.int3), enum_name(f.int2));
}

formats::PackedTensor fineq_rtn_method(const Tensor& w, const LayerCalibration& c, const MethodOptions& o) {
  return quantize_fineq_rtn(w, c.hessian, o, c.pool);
}

formats::PackedTensor fineq_gptq_method(const Tensor& w, const LayerCalibration& c, const MethodOptions& o) {
  return quantize_fineq_gptq(w, c.hessian, o, {}, c.pool);
}

constexpr const char* kFineqGrammar =
    "[:GROUP|row][+paper][+ratio|+min-error|+best-mode][+t=T][+int3-wide|fine][+int2-twos|sym][+true-seq]";

}  // namespace

const MethodInfo kFineqRtnMethod = {"fineq-rtn",     "fineq",        kFineqGrammar,      /*takes_bits=*/false,
                                    /*needs_calibration=*/false,     /*input_scorer=*/nullptr,
                                    &parse_fineq,    &fineq_spec_tail, &validate_fineq,  &fineq_params_json,
                                    &fineq_label,    &fineq_rtn_method,
                                nullptr};

const MethodInfo kFineqGptqMethod = {"fineq-gptq",    "fineq",        kFineqGrammar,      /*takes_bits=*/false,
                                     /*needs_calibration=*/true,      /*input_scorer=*/nullptr,
                                     &parse_fineq,    &fineq_spec_tail, &validate_fineq,  &fineq_params_json,
                                     &fineq_label,    &fineq_gptq_method,
                                nullptr};

}  // namespace mixq::quant
