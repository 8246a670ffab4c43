// SliM-LLM (Huang et al., ICML 2025; docs/DESIGN.md "SliM-LLM"): salience-determined bit allocation (SBA)
// over groups of G input columns, salience-weighted quantizer calibration (SQC) of each group's
// grid, and GPTQ's error feedback with block = group; and the method's row of the table.
#include "mixq/quant/methods/slim.hpp"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <numeric>
#include <tuple>

#include <fmt/format.h>

#include "mixq/core/error.hpp"
#include "mixq/core/half.hpp"
#include "mixq/formats/grid_quantizer.hpp"
#include "mixq/kernels/dense_f32.hpp"
#include "mixq/quant/methods/gptq.hpp"
#include "quant/methods/input_checks.hpp"
#include "mixq/quant/methods/method.hpp"

namespace mixq::quant {
namespace {

float round_to_f16(float v) { return f16_to_f32(f32_to_f16(v)); }

// 1-bit groups: ŵ = μ + α·(2c − 1), μ the mean and α the mean |w| of the row's group (the
// published binarizer; fp16 as stored).
struct BinaryGrid {
  float mean = 0, alpha = 0;
  static BinaryGrid fit(const float* v, int64_t n) {
    double sum = 0, abs_sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += v[i], abs_sum += std::fabs(v[i]);
    return {round_to_f16(float(sum / double(n))), round_to_f16(float(abs_sum / double(n)))};
  }
  uint8_t code(float w) const { return w >= mean ? 1 : 0; }
  float value(uint8_t c) const { return mean + alpha * float(2 * int(c) - 1); }
};

// A group's grid for one row at any width: binary at 1 bit, GPTQ's integer grid above.
struct RowGrid {
  int bits = 2;
  formats::GridQuantizer grid;
  BinaryGrid binary;
  uint8_t code(float w) const { return bits == 1 ? binary.code(w) : grid.code(w); }
  float value(uint8_t c) const { return bits == 1 ? binary.value(c) : grid.value(c); }
  float scale() const { return bits == 1 ? binary.alpha : grid.scale; }
  float zero() const { return bits == 1 ? binary.mean : grid.zero; }
};

// SQC's step search (docs/DESIGN.md "SliM-LLM SQC"): min-max with 0 in range, then the step scaled by
// τ = 1, 1.002 … 1.1, 0.998 … 0.9 about the fixed integer zero, keeping the first τ of least
// Σ weight_i·|ŵ_i − v_i|^2.4 (weight null: all 1).
formats::GridQuantizer sqc_fit(const float* v, int64_t n, int bits, const float* weight) {
  float lo = 0, hi = 0;
  for (int64_t i = 0; i < n; ++i) lo = std::min(lo, v[i]), hi = std::max(hi, v[i]);
  if (lo == 0 && hi == 0) lo = -1, hi = 1;
  formats::GridQuantizer g;
  g.maxq = (1 << bits) - 1;
  const float scale0 = (hi - lo) / float(g.maxq);
  g.zero = std::clamp(std::round(-lo / scale0), 0.f, float(g.maxq));
  formats::GridQuantizer best = g;
  double best_err = INFINITY;
  for (int k = 0; k <= 100; ++k) {
    const int step = k <= 50 ? k : 50 - k;  // 0, 1 … 50, −1 … −50
    g.scale = round_to_f16((1.f + 0.002f * float(step)) * scale0);
    if (g.scale == 0.f) g.scale = f16_to_f32(1);  // a range below fp16's smallest step
    double err = 0;
    for (int64_t i = 0; i < n; ++i) {
      const float e = std::fabs(g.value(g.code(v[i])) - v[i]);
      err += double(weight ? weight[i] : 1.f) * double(std::pow(e, 2.4f));
    }
    if (err < best_err) best_err = err, best = g;
  }
  return best;
}

RowGrid fit_row(const float* v, int64_t n, int bits, bool sqc, const float* weight) {
  RowGrid r;
  r.bits = bits;
  if (bits == 1)
    r.binary = BinaryGrid::fit(v, n);
  else
    r.grid = sqc ? sqc_fit(v, n, bits, weight) : formats::GridQuantizer::fit(v, size_t(n), 1, bits, false);
  return r;
}

// Group order by ascending salience Σ_rows,cols∈g W²/U_jj² (stable: ties keep column order).
std::vector<int64_t> salience_order(const std::vector<float>& w, int64_t rows, int64_t cols, const formats::SlimParams& p,
                                    const float* u_diag) {
  const int64_t groups = p.groups(cols);
  std::vector<double> salience(size_t(groups), 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < cols; ++j) {
      const double v = w[size_t(r * cols + j)], u = u_diag[j];
      salience[size_t(j / p.group)] += v * v / (u * u);
    }
  std::vector<int64_t> order(static_cast<size_t>(groups));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return salience[size_t(a)] < salience[size_t(b)]; });
  return order;
}

// The p least salient groups get N−1 bits, the p most salient N+1, the rest N.
std::vector<int> widths_for(const std::vector<int64_t>& order, int64_t p, int n) {
  std::vector<int> w(order.size(), n);
  for (int64_t k = 0; k < p; ++k) {
    w[size_t(order[size_t(k)])] = n - 1;
    w[size_t(order[order.size() - 1 - size_t(k)])] = n + 1;
  }
  return w;
}

// log of the clamped softmax of each row of x [tokens][n] (the official kl_div clamps
// probabilities at 1e-6 before the log).
void clamped_log_softmax(const float* x, size_t tokens, size_t n, float* out) {
  for (size_t t = 0; t < tokens; ++t) {
    const float* row = x + t * n;
    float* o = out + t * n;
    const float m = *std::max_element(row, row + n);
    double sum = 0;
    for (size_t i = 0; i < n; ++i) sum += std::exp(double(row[i] - m));
    const double log_sum = std::log(sum);
    for (size_t i = 0; i < n; ++i) o[i] = float(std::max(double(row[i] - m) - log_sum, std::log(1e-6)));
  }
}

// Σ_tokens KL(P‖Q) from the two clamped log-distributions.
double summed_kl(const float* log_p, const float* log_q, size_t count) {
  double kl = 0;
  for (size_t i = 0; i < count; ++i) kl += std::exp(double(log_p[i])) * (double(log_p[i]) - double(log_q[i]));
  return kl;
}

// SBA's output-KL scores over the calibration windows: for candidates k = 0 … count − 1, the
// mean over windows of Σ_tokens KL between the softmax of the layer's fp output X Wᵀ and of
// X Ŵ_kᵀ, in the given direction. Ŵ_k = w_hat[k], or, given `update(k, x, tokens, out_q)`,
// Ŵ_0 = w_hat[0] and update moves X Ŵ_{k−1}ᵀ to X Ŵ_kᵀ in place. The windows of a chunk run in
// parallel, one per thread; the mean is taken in window order, so the scores depend neither on the
// thread count nor on how the windows were chunked.
// The scorer passes its W and Ŵ_0 to update, which then needs no copy of them.
using UpdateFn = std::function<void(int64_t k, const float* x, int tokens, float* out_q, const std::vector<float>& w,
                                    const std::vector<float>& w_hat0)>;
class SlimKlScorer final : public InputScorer {
 public:
  // Scores candidates 0 … count − 1 and reports first_kept … count − 1 (the steps below are taken,
  // not kept).
  SlimKlScorer(std::vector<float> w, int64_t rows, int64_t cols, SlimKl direction, int64_t count, int64_t first_kept,
               std::vector<std::vector<float>> w_hat, UpdateFn update)
      : w_(std::move(w)), rows_(rows), cols_(cols), direction_(direction), count_(count), first_kept_(first_kept),
        w_hat_(std::move(w_hat)), update_(std::move(update)) {}

  void add(size_t first, const std::vector<std::vector<float>>& inputs, ThreadPool* pool) override {
    if (first != windows_) fail("slim", "calibration window {} reached SBA after {} windows", first, windows_);
    for (const auto& x : inputs)
      if (x.empty() || x.size() % size_t(cols_) != 0)
        fail("slim", "calibration input of {} values is not [tokens, {}]", x.size(), cols_);
    per_window_.resize((first + inputs.size()) * size_t(count_), 0.0);
    auto score_windows = [&](size_t begin, size_t end) {
      kernels::use_single_threaded_blas();
      std::vector<float> out_fp, out_q, log_fp, log_q;
      for (size_t s = begin; s < end; ++s) {
        const std::vector<float>& x = inputs[s];
        const int tokens = int(x.size() / size_t(cols_));
        const size_t n = size_t(tokens) * size_t(rows_);
        out_fp.resize(n), out_q.resize(n), log_fp.resize(n), log_q.resize(n);
        product(x, tokens, w_, out_fp.data());
        clamped_log_softmax(out_fp.data(), size_t(tokens), size_t(rows_), log_fp.data());
        for (int64_t k = 0; k < count_; ++k) {
          if (k == 0 || !update_)
            product(x, tokens, w_hat_[update_ ? 0 : size_t(k)], out_q.data());
          else
            update_(k, x.data(), tokens, out_q.data(), w_, w_hat_[0]);
          clamped_log_softmax(out_q.data(), size_t(tokens), size_t(rows_), log_q.data());
          per_window_[(first + s) * size_t(count_) + size_t(k)] = direction_ == SlimKl::FpQ
                                                                     ? summed_kl(log_fp.data(), log_q.data(), n)
                                                                     : summed_kl(log_q.data(), log_fp.data(), n);
        }
      }
    };
    if (pool)
      pool->parallel_for(inputs.size(), score_windows);
    else
      score_windows(0, inputs.size());
    windows_ += inputs.size();
  }

  // The mean scores of candidates first_kept … count − 1.
  std::vector<double> scores() const {
    if (windows_ == 0) fail("slim", "SBA needs the layer's calibration inputs");
    std::vector<double> mean;
    for (int64_t k = first_kept_; k < count_; ++k) {
      double sum = 0.0;
      for (size_t s = 0; s < windows_; ++s) sum += per_window_[s * size_t(count_) + size_t(k)];
      mean.push_back(sum / double(windows_));
    }
    return mean;
  }

 private:
  // out [tokens][rows] = X mᵀ.
  void product(const std::vector<float>& x, int tokens, const std::vector<float>& m, float* out) const {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, tokens, int(rows_), int(cols_), 1.f, x.data(), int(cols_),
                m.data(), int(cols_), 0.f, out, int(rows_));
  }

  std::vector<float> w_;
  int64_t rows_, cols_;
  SlimKl direction_;
  int64_t count_, first_kept_;
  std::vector<std::vector<float>> w_hat_;
  UpdateFn update_;
  std::vector<double> per_window_;  // [window][candidate]
  size_t windows_ = 0;
};


// The candidates p of the search: 0 … groups/2 (ours: uniform N is one extreme, as the paper's
// appendix says), or the published code's 1 … groups/2 − 1 (empty with fewer than 4 groups:
// then p = 0).
std::pair<int64_t, int64_t> candidate_range(int64_t groups, const SlimOptions& o) {
  return o.official ? std::pair<int64_t, int64_t>{1, groups / 2 - 1} : std::pair<int64_t, int64_t>{0, groups / 2};
}

// SQC's per-element weights for one group slab (columns [begin, begin + len) of every row):
// 1 + (λ − 1)·[salient]. Salient: the code's rule — z-score of w²/U_jj² over the slab above 2
// (at least the smallest such salience) — or the paper's: |w − mean| > 3σ of the slab's weights.
std::vector<float> salient_weights(const std::vector<float>& w, int64_t rows, int64_t cols, int64_t begin, int64_t len,
                                   const float* u_diag, const SlimOptions& o) {
  std::vector<float> value(size_t(rows * len));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < len; ++i) {
      const float v = w[size_t(r * cols + begin + i)], u = u_diag[begin + i];
      value[size_t(r * len + i)] = o.mask == SlimMask::Salience ? v * v / (u * u) : v;
    }
  double mean = 0, var = 0;
  for (float v : value) mean += v;
  mean /= double(value.size());
  for (float v : value) var += (v - mean) * (v - mean);
  const double sd = std::sqrt(var / double(std::max<size_t>(1, value.size() - 1)));
  std::vector<float> weight(value.size(), 1.f);
  if (sd == 0) return weight;
  const double sigmas = o.mask == SlimMask::Salience ? 2.0 : 3.0;
  float threshold = INFINITY;  // salience rule: every value at least the smallest outlier
  for (float v : value)
    if (std::fabs(v - mean) / sd > sigmas) threshold = std::min(threshold, v);
  for (size_t i = 0; i < value.size(); ++i) {
    const bool salient = o.mask == SlimMask::Salience ? value[i] >= threshold : std::fabs(value[i] - mean) / sd > sigmas;
    if (salient) weight[i] = float(o.lambda);
  }
  return weight;
}

// U, the upper Cholesky factor of (H + λ·mean(diag H)·I)⁻¹ in float (what GPTQ's error feedback
// runs on), and its diagonal (what salience divides by).
struct Factor {
  std::vector<float> u, diag;
};
Factor inverse_factor(std::vector<double> h, int64_t cols, double damp) {
  damped_inverse_cholesky(h, size_t(cols), damp, "slim");
  Factor f{std::vector<float>(h.begin(), h.end()), std::vector<float>(static_cast<size_t>(cols))};
  for (int64_t j = 0; j < cols; ++j) f.diag[size_t(j)] = f.u[size_t(j * cols + j)];
  return f;
}

struct SlimQuantized {
  std::vector<uint8_t> codes;
  std::vector<float> scales, zeros;
  std::vector<float> values;  // Ŵ as decoded, row-major
};

// Grids given per (row, group) in the format's convention (scale and zero; α and μ at 1 bit).
struct FixedGrids {
  std::span<const float> scales, zeros;
  RowGrid at(size_t k, int bits) const {
    RowGrid g;
    g.bits = bits;
    if (bits == 1) g.binary = {zeros[k], scales[k]};
    else g.grid = {scales[k], zeros[k], (1 << bits) - 1};
    return g;
  }
};

// GPTQ with block = group at the given widths on the factored H: each group's grids fitted (SQC,
// or min-max) on the error-updated weights when the group starts, binary grids for 1-bit groups;
// or the fixed grids, when given.
SlimQuantized gptq_at_widths(std::vector<float> w, const Factor& f, int64_t rows, int64_t cols,
                             const std::vector<int>& widths, const SlimOptions& o, const FixedGrids* fixed = nullptr) {
  const formats::SlimParams& p = o.format;
  const int64_t groups = p.groups(cols);
  SlimQuantized out{std::vector<uint8_t>(size_t(rows * cols)), std::vector<float>(size_t(rows * groups)),
                    std::vector<float>(size_t(rows * groups)), std::vector<float>(size_t(rows * cols))};
  std::vector<RowGrid> grid(static_cast<size_t>(rows));
  gptq_error_feedback_factored(
      w, f.u, rows, cols, p.group,
      [&](int64_t j, const std::vector<float>& cur, const float* u_diag, float* q) {
        const int64_t g = j / p.group;
        if (j % p.group == 0) {
          const int64_t len = p.group_len(cols, g);
          std::vector<float> weight;
          if (!fixed && o.sqc && o.lambda != 1.0) weight = salient_weights(cur, rows, cols, j, len, u_diag, o);
          for (int64_t r = 0; r < rows; ++r) {
            grid[size_t(r)] = fixed ? fixed->at(size_t(r * groups + g), widths[size_t(g)])
                                    : fit_row(&cur[size_t(r * cols + j)], len, widths[size_t(g)], o.sqc,
                                              weight.empty() ? nullptr : &weight[size_t(r * len)]);
            out.scales[size_t(r * groups + g)] = grid[size_t(r)].scale();
            out.zeros[size_t(r * groups + g)] = grid[size_t(r)].zero();
          }
        }
        for (int64_t r = 0; r < rows; ++r) {
          const uint8_t c = grid[size_t(r)].code(cur[size_t(r * cols + j)]);
          out.codes[size_t(r * cols + j)] = c;
          q[r] = out.values[size_t(r * cols + j)] = grid[size_t(r)].value(c);
        }
      },
      "slim");
  return out;
}


// What SBA's search and the final GPTQ pass share. The pipeline makes a linear's scorer before its
// layer's second pass and quantizes it after; both compute this the same way rather than keep it
// in between, which would hold an H factor for every linear of the layer at once.
struct SlimSetup {
  int64_t rows = 0, cols = 0, groups = 0;
  std::vector<float> w;         // W, dead inputs zeroed
  Factor factor;                // of H, damped with --damp
  std::vector<float> search_u;  // official: the diagonal the published search orders by (H + 0.01·I)
  int64_t p_min = 0, p_max = -1;
  std::vector<int64_t> order;   // the groups by salience, when SBA searches

  bool searches() const { return !order.empty(); }
};

SlimSetup slim_setup(const Tensor& w_in, const LayerCalibration& calib, const MethodOptions& mo) {
  const SlimOptions& o = mo.get<SlimOptions>();
  validate_slim_options(o);
  const formats::SlimParams& p = o.format;
  check_weight(w_in, "slim");
  SlimSetup s;
  s.rows = w_in.rows(), s.cols = w_in.cols(), s.groups = p.groups(s.cols);
  if (p.group > s.cols) fail("slim", "group size {} is larger than the row ({} input columns)", p.group, s.cols);
  check_hessian(calib.hessian, s.cols, "slim");
  s.w = w_in.data;
  std::vector<double> h = calib.hessian;
  // The published code damps H in place with an absolute 0.01 and orders the groups for the
  // search from that alone (GPTQ later adds its relative damp, so the order applied can differ;
  // and no input is ever dead). Ours: one damp, one order.
  if (o.official) {
    for (int64_t j = 0; j < s.cols; ++j) h[size_t(j * s.cols + j)] += 0.01;
    if (o.sba) s.search_u = inverse_factor(h, s.cols, 0.0).diag;
  }
  zero_dead_inputs(s.w, h, s.rows, s.cols);
  s.factor = inverse_factor(std::move(h), s.cols, mo.damp);  // once, for the order and every GPTQ pass
  std::tie(s.p_min, s.p_max) = candidate_range(s.groups, o);
  if (o.sba && s.p_max >= s.p_min) s.order = salience_order(s.w, s.rows, s.cols, p, s.factor.diag.data());
  return s;
}

// SBA's published search (docs/DESIGN.md "SliM-LLM SBA search"): candidate p is the original weights RTN-
// quantized at its widths (min-max with 0 in range; binary at 1 bit). Candidates differ from
// p − 1 in two groups only, so each window's X Ŵᵀ moves by two thin GEMMs per step instead of
// being recomputed. The scorer keeps W and its RTN at N bits; a step's change of Ŵ (one group at
// N−1 or N+1 bits, minus N) is recomputed when it is taken, which costs a group's RTN beside the
// group's GEMM and keeps a layer's seven scorers at 2 copies of the layer instead of 3.
std::unique_ptr<SlimKlScorer> rtn_search_scorer(const SlimSetup& s, const std::vector<int64_t>& order, const SlimOptions& o) {
  const formats::SlimParams p = o.format;
  const int n = p.bits;
  const int64_t rows = s.rows, cols = s.cols, groups = s.groups;
  // RTN of group g of row r at `bits` into out[len].
  auto rtn_group = [p, cols](const float* w, int64_t r, int64_t g, int bits, float* out) {
    const float* v = &w[size_t(r * cols + g * p.group)];
    const int64_t len = p.group_len(cols, g);
    const RowGrid grid = fit_row(v, len, bits, false, nullptr);
    for (int64_t i = 0; i < len; ++i) out[i] = grid.value(grid.code(v[i]));
  };
  std::vector<float> at_n(s.w.size());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t g = 0; g < groups; ++g) rtn_group(s.w.data(), r, g, n, &at_n[size_t(r * cols + g * p.group)]);
  // Step k (p = k) moves group order[k−1] from N to N−1 and group order[groups−k] from N to N+1.
  auto step = [order, p, n, rows, cols, groups, rtn_group](int64_t k, const float* x, int tokens, float* out_q,
                                                          const std::vector<float>& w, const std::vector<float>& at_n) {
    thread_local std::vector<float> delta;
    for (auto [g, bits] : {std::pair{order[size_t(k - 1)], n - 1}, std::pair{order[size_t(groups - k)], n + 1}}) {
      const int64_t b = g * p.group, len = p.group_len(cols, g);
      delta.resize(size_t(rows * len));
      for (int64_t r = 0; r < rows; ++r) {
        float* d = &delta[size_t(r * len)];
        rtn_group(w.data(), r, g, bits, d);
        for (int64_t i = 0; i < len; ++i) d[i] -= at_n[size_t(r * cols + b + i)];
      }
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, tokens, int(rows), int(len), 1.f, x + b, int(cols),
                  delta.data(), int(len), 1.f, out_q, int(rows));
    }
  };
  // Scores for p = 0 … p_max; those below p_min are stepped through, not kept.
  return std::make_unique<SlimKlScorer>(s.w, rows, cols, o.kl_direction(), s.p_max + 1, s.p_min,
                                        std::vector<std::vector<float>>{std::move(at_n)}, std::move(step));
}

// Candidate p as it will be stored: GPTQ and SQC at its widths (ours, +search-gptq).
SlimQuantized gptq_candidate(const SlimSetup& s, int64_t p, const SlimOptions& o) {
  return gptq_at_widths(s.w, s.factor, s.rows, s.cols, widths_for(s.order, p, o.format.bits), o);
}

bool scores_by_output_error(const SlimOptions& o) { return o.search == SlimSearch::Gptq && o.score == SlimScore::Mse; }

// The scorer of SBA's KL search on this setup; null when SBA searches nothing or scores by the
// layer-output error (which needs no inputs).
std::unique_ptr<SlimKlScorer> kl_scorer(const SlimSetup& s, const SlimOptions& o) {
  if (!s.searches() || scores_by_output_error(o)) return nullptr;
  if (o.search == SlimSearch::Rtn)
    return rtn_search_scorer(s, o.official ? salience_order(s.w, s.rows, s.cols, o.format, s.search_u.data()) : s.order, o);
  std::vector<std::vector<float>> values;
  for (int64_t k = s.p_min; k <= s.p_max; ++k) values.push_back(gptq_candidate(s, k, o).values);
  return std::make_unique<SlimKlScorer>(s.w, s.rows, s.cols, o.kl_direction(), int64_t(values.size()), 0, std::move(values),
                                        nullptr);
}

// SBA's score of each candidate p_min … p_max: the layer-output error, or the KL from the scorer
// the pipeline fed (or from the inputs given all at once).
std::vector<double> sba_scores(const SlimSetup& s, const LayerCalibration& calib, const SlimOptions& o) {
  if (scores_by_output_error(o)) {
    std::vector<double> scores;
    for (int64_t k = s.p_min; k <= s.p_max; ++k)
      scores.push_back(hessian_weighted_error(s.w, gptq_candidate(s, k, o).values, calib.hessian, s.rows, s.cols));
    return scores;
  }
  if (calib.scorer) {
    const auto* fed = dynamic_cast<const SlimKlScorer*>(calib.scorer.get());
    if (!fed) fail("slim", "was given another method's input scorer");
    return fed->scores();
  }
  const auto own = kl_scorer(s, o);
  own->add(0, calib.inputs, calib.pool);
  return own->scores();
}

}  // namespace

formats::PackedTensor quantize_slim(const Tensor& w_in, const LayerCalibration& calib, const MethodOptions& mo) {
  const SlimOptions& o = mo.get<SlimOptions>();
  const SlimSetup s = slim_setup(w_in, calib, mo);
  const formats::SlimParams& p = o.format;
  int64_t chosen = 0;
  std::vector<double> scores;
  std::vector<int> widths(size_t(s.groups), p.bits);
  if (s.searches()) {
    scores = sba_scores(s, calib, o);
    chosen = s.p_min + (std::min_element(scores.begin(), scores.end()) - scores.begin());
    widths = widths_for(s.order, chosen, p.bits);
  }
  // +search-gptq: the winner again, as it was scored (GPTQ is deterministic), not kept from the search.
  const SlimQuantized result = gptq_at_widths(s.w, s.factor, s.rows, s.cols, widths, o);
  // What SBA chose, for `mixq inspect` (not needed to decode).
  formats::SlimParams recorded = p;
  if (o.sba) recorded.sba = {{"p", chosen}, {"p_first", s.p_min}, {"mean_kl", scores}};
  return formats::SlimFormat::pack(s.rows, s.cols, widths, result.codes, result.scales, result.zeros, recorded);
}

formats::PackedTensor quantize_slim_on_grids(const Tensor& w, const LayerCalibration& calib, const MethodOptions& mo,
                                             const std::vector<int>& widths, std::span<const float> scales,
                                             std::span<const float> zeros, const formats::SlimParams& recorded) {
  MethodOptions plain = mo;
  plain.get<SlimOptions>().sba = false;  // the widths are given: no search
  const SlimSetup s = slim_setup(w, calib, plain);
  const size_t n = size_t(s.rows * s.groups);
  if (widths.size() != size_t(s.groups) || scales.size() != n || zeros.size() != n)
    fail("slim", "{} widths and {} grids for {} rows × {} groups", widths.size(), scales.size(), s.rows, s.groups);
  const FixedGrids fixed{scales, zeros};
  const SlimQuantized result = gptq_at_widths(s.w, s.factor, s.rows, s.cols, widths, mo.get<SlimOptions>(), &fixed);
  return formats::SlimFormat::pack(s.rows, s.cols, widths, result.codes, result.scales, result.zeros, recorded);
}

void validate_slim_options(const SlimOptions& s) {
  s.format.validate();
  if (!(s.lambda >= 1.0) || !std::isfinite(s.lambda)) fail("slim", "SQC salience weight λ must be ≥ 1, got {}", s.lambda);
  if (s.score == SlimScore::Mse && s.search != SlimSearch::Gptq) fail("slim", "the mse score needs +search-gptq");
}

nlohmann::json SlimOptions::to_json() const {
  return {{"bits", format.bits},  {"group", format.group},  {"sba", sba},
          {"sqc", sqc},           {"official", official},   {"lambda", lambda},
          {"kl", enum_name(kl_direction())}, {"mask", enum_name(mask)}, {"search", enum_name(search)},
          {"score", enum_name(score)}};
}

namespace {

void parse_slim(const MethodArgs& a, MethodOptions& o) {
  if (!a.bits)
    fail(a.where, "expected slim:N[:GROUP][+official][+no-sba][+no-sqc][+lambda=L][+kl-fp-q|kl-q-fp][+mask-weights][+true-seq]");
  SlimOptions s;
  s.format.bits = spec_integer(a, *a.bits, "bits");
  if (a.group) {
    if (a.group->text == "row") fail(a.where, "slim groups span all rows; give a group size, not 'row'");
    s.format.group = spec_group(a, *a.group);
  }
  for (const auto& f : a.flags) {
    SlimKl kl;
    if (f.text == "official") s.official = true;
    else if (f.text == "no-sba") s.sba = false;
    else if (f.text == "no-sqc") s.sqc = false;
    else if (f.text.starts_with("lambda=")) s.lambda = spec_number(a, {f.text.substr(7), f.origin}, "lambda");
    else if (parse_prefixed_enum(f.text, "kl-", kl)) s.kl = kl;
    else if (parse_prefixed_enum(f.text, "mask-", s.mask) || parse_prefixed_enum(f.text, "search-", s.search) ||
             parse_prefixed_enum(f.text, "score-", s.score)) continue;
    else if (f.text == "true-seq") o.true_sequential = true;
    else unknown_flag(a, f, "official, no-sba, no-sqc, lambda=L, kl-fp-q, kl-q-fp, mask-salience, mask-weights, search-rtn, search-gptq, score-kl, score-mse, true-seq");
  }
  validate_slim_options(s);
  o.params = s;
}

std::string slim_spec_tail(const MethodOptions& o) {
  const SlimOptions &s = o.get<SlimOptions>(), d;
  std::string out = fmt::format(":{}:{}", s.format.bits, s.format.group);
  if (s.official) out += "+official";
  if (!s.sba) out += "+no-sba";
  if (!s.sqc) out += "+no-sqc";
  if (s.lambda != d.lambda) out += fmt::format("+lambda={}", s.lambda);
  if (s.kl_direction() != SlimOptions::recipe_kl(s.official)) out += std::string("+kl-") + enum_name(s.kl_direction());
  if (s.mask != d.mask) out += std::string("+mask-") + enum_name(s.mask);
  if (s.search != d.search) out += std::string("+search-") + enum_name(s.search);
  if (s.score != d.score) out += std::string("+score-") + enum_name(s.score);
  if (o.true_sequential) out += "+true-seq";
  return out;
}

void validate_slim(const MethodOptions& o) {
  validate_slim_options(o.get<SlimOptions>());
  if (o.mse_clip || o.act_order) fail("slim", "takes neither --mse nor --act-order");
}

nlohmann::json slim_params_json(const MethodOptions& o) { return o.get<SlimOptions>().to_json(); }

std::unique_ptr<InputScorer> slim_input_scorer(const Tensor& w, const LayerCalibration& calib, const MethodOptions& o) {
  return kl_scorer(slim_setup(w, calib, o), o.get<SlimOptions>());
}

std::string slim_label(const MethodOptions& o) {
  const auto& f = o.get<SlimOptions>().format;
  return fmt::format("slim N{} g{} (N-1..N+1)", f.bits, f.group);
}

}  // namespace

const MethodInfo kSlimMethod = {"slim",
                                "slim",
                                ":N[:GROUP][+official][+no-sba][+no-sqc][+lambda=L][+kl-fp-q|+kl-q-fp]"
                                "[+mask-salience|+mask-weights][+search-rtn|+search-gptq][+score-kl|+score-mse][+true-seq]",
                                /*takes_bits=*/true,
                                /*needs_calibration=*/true,
                                &slim_input_scorer,
                                &parse_slim,
                                &slim_spec_tail,
                                &validate_slim,
                                &slim_params_json,
                                &slim_label,
                                &quantize_slim,
                                nullptr};

}  // namespace mixq::quant
