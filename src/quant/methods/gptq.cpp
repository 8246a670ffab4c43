// GPTQ: quantize one column at a time and spread its error over the not-yet-quantized columns
// through the inverse Hessian, in blocks with lazy batch updates (docs/DESIGN.md "GPTQ").
#include <lapacke.h>
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "mixq/core/error.hpp"
#include "mixq/formats/grid_quantizer.hpp"
#include "mixq/kernels/dense_f32.hpp"
#include "mixq/quant/methods/gptq.hpp"
#include "quant/methods/input_checks.hpp"
#include "mixq/quant/methods/method.hpp"

namespace mixq::quant {

double damped_inverse_cholesky(std::vector<double>& h, size_t n, double damp, const std::string& where) {
  double mean_diag = 0;
  for (size_t j = 0; j < n; ++j) mean_diag += h[j * n + j];
  mean_diag /= double(n);
  const std::vector<double> original = h;
  for (int attempt = 0; attempt < 6; ++attempt, damp *= 10) {
    h = original;
    for (size_t j = 0; j < n; ++j) h[j * n + j] += damp * mean_diag;
    // H = UᵀU, then H⁻¹ from the factor, then the upper factor of H⁻¹.
    if (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'U', int(n), h.data(), int(n)) != 0) continue;
    if (LAPACKE_dpotri(LAPACK_ROW_MAJOR, 'U', int(n), h.data(), int(n)) != 0) continue;
    for (size_t i = 0; i < n; ++i)
      for (size_t j = 0; j < i; ++j) h[i * n + j] = h[j * n + i];
    if (LAPACKE_dpotrf(LAPACK_ROW_MAJOR, 'U', int(n), h.data(), int(n)) != 0) continue;
    for (size_t i = 0; i < n; ++i)
      for (size_t j = 0; j < i; ++j) h[i * n + j] = 0.0;  // keep only U
    return damp;
  }
  fail(where, "Hessian is not positive definite even with dampening {} (6 tries, ×10 each)", damp / 10);
}

void zero_dead_inputs(std::vector<float>& w, std::vector<double>& h, int64_t rows, int64_t cols) {
  for (int64_t j = 0; j < cols; ++j)
    if (h[size_t(j * cols + j)] == 0.0) {
      h[size_t(j * cols + j)] = 1.0;
      for (int64_t r = 0; r < rows; ++r) w[size_t(r * cols + j)] = 0.f;
    }
}

void gptq_error_feedback(std::vector<float>& w, std::vector<double> h, int64_t rows, int64_t cols,
                         const std::vector<int64_t>& perm, double damp, int64_t block, const ColumnQuantizer& quantize,
                         const std::string& where) {
  if (!perm.empty()) {
    std::vector<float> wp(w.size());
    std::vector<double> hp(h.size());
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < cols; ++j) wp[size_t(r * cols + j)] = w[size_t(r * cols + perm[size_t(j)])];
    for (int64_t i = 0; i < cols; ++i)
      for (int64_t j = 0; j < cols; ++j) hp[size_t(i * cols + j)] = h[size_t(perm[size_t(i)] * cols + perm[size_t(j)])];
    w.swap(wp);
    h.swap(hp);
  }
  damped_inverse_cholesky(h, size_t(cols), damp, where);
  gptq_error_feedback_factored(w, std::vector<float>(h.begin(), h.end()), rows, cols, block, quantize, where);
}

void gptq_error_feedback_factored(std::vector<float>& w, const std::vector<float>& hinv, int64_t rows, int64_t cols,
                                  int64_t block, const ColumnQuantizer& quantize, const std::string& where) {
  if (block <= 0) fail(where, "block size must be positive, got {}", block);
  const auto U = [&](int64_t i, int64_t j) { return hinv[size_t(i * cols + j)]; };
  std::vector<float> err(size_t(rows * block)), q(static_cast<size_t>(rows)), u_diag(static_cast<size_t>(cols));
  for (int64_t k = 0; k < cols; ++k) u_diag[size_t(k)] = U(k, k);
  for (int64_t i1 = 0; i1 < cols; i1 += block) {
    const int64_t i2 = std::min(cols, i1 + block), count = i2 - i1;
    for (int64_t j = i1; j < i2; ++j) {
      quantize(j, w, u_diag.data(), q.data());
      const float d = U(j, j);
      for (int64_t r = 0; r < rows; ++r) {
        float* row = &w[size_t(r * cols)];
        const float e = (row[j] - q[size_t(r)]) / d;
        err[size_t(r * count + (j - i1))] = e;
        for (int64_t k = j + 1; k < i2; ++k) row[k] -= e * U(j, k);
      }
    }
    // Lazy batch update of every later column: W[:, i2:] -= Err · U[i1:i2, i2:].
    if (i2 < cols) {
      kernels::use_single_threaded_blas();
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(rows), int(cols - i2), int(count), -1.f, err.data(),
                  int(count), &hinv[size_t(i1 * cols + i2)], int(cols), 1.f, &w[size_t(i2)], int(cols));
    }
  }
}

double hessian_weighted_error(const std::vector<float>& w, const std::vector<float>& w_hat, const std::vector<double>& h,
                    int64_t rows, int64_t cols) {
  std::vector<double> d(static_cast<size_t>(cols)), hd(static_cast<size_t>(cols));
  double total = 0;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t i = 0; i < cols; ++i) d[size_t(i)] = double(w_hat[size_t(r * cols + i)]) - w[size_t(r * cols + i)];
    cblas_dsymv(CblasRowMajor, CblasUpper, int(cols), 1.0, h.data(), int(cols), d.data(), 1, 0.0, hd.data(), 1);
    for (int64_t i = 0; i < cols; ++i) total += d[size_t(i)] * hd[size_t(i)];
  }
  return total;
}

formats::PackedTensor quantize_gptq(const Tensor& w_in, const std::vector<double>& h_in, const MethodOptions& o,
                                    std::span<const formats::GridQuantizer> fixed_grids) {
  const auto& p = o.get<UniformOptions>().format;
  p.validate();
  check_weight(w_in, "gptq");
  const int64_t rows = w_in.rows(), cols = w_in.cols(), gs = p.group_size(cols), groups = p.groups(cols);
  check_hessian(h_in, cols, "gptq");
  std::vector<float> w = w_in.data;
  std::vector<double> h = h_in;
  zero_dead_inputs(w, h, rows, cols);

  std::vector<uint8_t> codes(size_t(rows * cols));
  std::vector<float> scales(size_t(rows * groups)), zeros(size_t(rows * groups));
  std::vector<formats::GridQuantizer> grid(size_t(rows * groups));
  const bool fixed = !fixed_grids.empty();
  if (fixed && fixed_grids.size() != grid.size())
    fail("gptq", "{} fixed grids for {} rows × {} groups", fixed_grids.size(), rows, groups);
  // Fits each row's grid on group g's columns as they are now in `src` (row-major, natural order),
  // or takes the fixed ones.
  auto fit_group = [&](int64_t g, const std::vector<float>& src) {
    const int64_t begin = g * gs, len = std::min(cols, begin + gs) - begin;
    for (int64_t r = 0; r < rows; ++r) {
      const float* vals = &src[size_t(r * cols + begin)];
      const size_t k = size_t(r * groups + g);
      formats::GridQuantizer q = fixed        ? fixed_grids[k]
                                 : o.mse_clip ? formats::GridQuantizer::fit_mse(vals, size_t(len), 1, p.bits, p.symmetric)
                                              : formats::GridQuantizer::fit(vals, size_t(len), 1, p.bits, p.symmetric);
      grid[k] = q;
      scales[k] = q.scale;
      zeros[k] = q.zero;
    }
  };

  // Column order: natural, or by descending diag H (act-order). With act-order the groups keep
  // their natural columns and are fitted once up front (GPTQ's static groups), so the stored
  // format stays group-contiguous.
  std::vector<int64_t> perm;
  if (o.act_order) {
    perm.resize(size_t(cols));
    std::iota(perm.begin(), perm.end(), 0);
    std::stable_sort(perm.begin(), perm.end(),
                     [&](int64_t a, int64_t b) { return h[size_t(a * cols + a)] > h[size_t(b * cols + b)]; });
  }
  // Static groups are fitted once, up front, on the weights before any error feedback.
  if (o.act_order || fixed)
    for (int64_t g = 0; g < groups; ++g) fit_group(g, w);
  gptq_error_feedback(w, std::move(h), rows, cols, perm, o.damp, o.block,
                      [&](int64_t j, const std::vector<float>& cur, const float*, float* q) {
                        const int64_t orig = perm.empty() ? j : perm[size_t(j)], g = orig / gs;
                        if (perm.empty() && !fixed && j % gs == 0) fit_group(g, cur);
                        for (int64_t r = 0; r < rows; ++r) {
                          const formats::GridQuantizer& gq = grid[size_t(r * groups + g)];
                          const uint8_t c = gq.code(cur[size_t(r * cols + j)]);
                          codes[size_t(r * cols + orig)] = c;
                          q[r] = gq.value(c);
                        }
                      },
                      "gptq");
  return formats::UniformFormat::pack(rows, cols, codes, scales, zeros, p);
}

namespace {

formats::PackedTensor gptq_method(const Tensor& w, const LayerCalibration& c, const MethodOptions& o) {
  return quantize_gptq(w, c.hessian, o);
}

}  // namespace

const MethodInfo kGptqMethod = {"gptq",
                                "uniform",
                                ":BITS[:GROUP|row][+sym][+mse][+act-order][+true-seq]",
                                /*takes_bits=*/true,
                                /*needs_calibration=*/true,
                                /*input_scorer=*/nullptr,
                                &parse_uniform_options,
                                &uniform_spec_tail,
                                &validate_uniform_options,
                                &uniform_params_json,
                                &uniform_label,
                                &gptq_method,
                                nullptr};

}  // namespace mixq::quant
