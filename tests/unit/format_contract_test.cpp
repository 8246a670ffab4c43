// The contract every registered packed format keeps, walked over the registry itself (a new format
// is tested here the day it gets its row): random codes → pack → validate; parameters survive
// their JSON; bits/weight come from exactly the bytes the shape and parameters call for; the
// scalar reference GEMM equals the dequantized weights times X; the affine form (the fast kernels'
// input) decodes to the same weights; the one-token kernel agrees where the format fits it; and a
// truncated or missing part is refused.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "mixq/core/error.hpp"
#include "mixq/core/thread_pool.hpp"
#include "mixq/formats/registry.hpp"
#include "mixq/kernels/interleaved.hpp"
#include "mixq/model/packed_linear.hpp"

namespace mixq::formats {
namespace {

// Per format: how far each path may be from Σ_i ŵ_i x_i, relative to Σ_i |ŵ_i x_i| of the row.
// reference/affine: fp32 rounding only. kernel: the one-token kernel on int8 activations (one
// scale per 16 values, so up to ~1/254 of a block's largest |x| per value).
struct Tolerance {
  double reference, affine, kernel;
};
const std::map<std::string, Tolerance> kTolerances = {
    {"uniform", {1e-5, 1e-5, 1e-2}},
    {"fineq", {1e-5, 1e-5, 1e-2}},
    {"slim", {1e-5, 1e-5, 1e-2}},
};

// Shapes with whole and short last groups, and rows that are not a multiple of 3 (FineQ pads).
constexpr int64_t kShapes[][2] = {{5, 96}, {8, 172}, {3, 256}, {9, 130}};
constexpr uint64_t kSeeds = 8;

std::vector<float> random_x(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d;
  std::vector<float> x(n);
  for (auto& v : x) v = d(rng);
  return x;
}

// |a − b| ≤ tol · Σ_i |ŵ_i x_i| for every output of token k, row r.
void expect_close(const std::vector<float>& got, const std::vector<float>& want, const std::vector<float>& w,
                  const std::vector<float>& x, int64_t rows, int64_t cols, size_t n, double tol, const std::string& what) {
  for (size_t k = 0; k < n; ++k)
    for (int64_t r = 0; r < rows; ++r) {
      double scale = 0;
      for (int64_t i = 0; i < cols; ++i) scale += std::fabs(double(w[size_t(r * cols + i)]) * x[k * size_t(cols) + size_t(i)]);
      const size_t at = k * size_t(rows) + size_t(r);
      ASSERT_LE(std::fabs(double(got[at]) - want[at]), tol * scale + 1e-30) << what << " token " << k << " row " << r;
    }
}

void check_contract(const FormatOps& ops, const Tolerance& tol, int64_t rows, int64_t cols, uint64_t seed) {
  const PackedTensor t = ops.random(rows, cols, seed);
  SCOPED_TRACE(ops.params_json(t).dump());
  ASSERT_EQ(t.format, ops.name);
  ASSERT_EQ(t.rows, rows);
  ASSERT_EQ(t.cols, cols);
  ASSERT_NO_THROW(ops.validate(t));

  // Parameters survive the file's JSON.
  PackedTensor reread = t;
  reread.params = ops.parse_params(ops.params_json(t));
  EXPECT_EQ(ops.params_json(reread), ops.params_json(t));
  ASSERT_NO_THROW(ops.validate(reread));

  // Bits are counted from exactly the bytes stored.
  EXPECT_EQ(t.total_bytes(), ops.stored_bytes(t));
  EXPECT_DOUBLE_EQ(t.bits_per_weight(), 8.0 * double(ops.stored_bytes(t)) / double(rows * cols));

  // Reference GEMM == dequantized weights × X (any row range).
  std::vector<float> w(size_t(rows * cols));
  ops.dequantize_rows(t, 0, rows, w.data());
  for (float v : w) ASSERT_TRUE(std::isfinite(v));
  const size_t n = 3;
  const auto x = random_x(n * size_t(cols), uint32_t(seed) + 1);
  std::vector<float> dense(n * size_t(rows), 0.f), ref(n * size_t(rows), 0.f);
  for (size_t k = 0; k < n; ++k)
    for (int64_t r = 0; r < rows; ++r) {
      double acc = 0;
      for (int64_t i = 0; i < cols; ++i) acc += double(w[size_t(r * cols + i)]) * x[k * size_t(cols) + size_t(i)];
      dense[k * size_t(rows) + size_t(r)] = float(acc);
    }
  ops.gemm_reference(t, x.data(), n, ref.data(), 0, rows / 2);
  ops.gemm_reference(t, x.data(), n, ref.data(), rows / 2, rows);
  expect_close(ref, dense, w, x, rows, cols, n, tol.reference, "gemm_reference");

  // The affine form decodes to the same weights: ŵ = scale · code + offset per group.
  const AffineForm form = ops.affine_form(t);
  ASSERT_FALSE(form.groups.empty());
  EXPECT_EQ(form.groups.front().begin, 0);
  EXPECT_EQ(form.groups.back().begin + form.groups.back().len, cols);
  std::vector<uint8_t> codes(static_cast<size_t>(cols));
  std::vector<float> scale(form.groups.size()), offset(form.groups.size());
  for (int64_t r = 0; r < rows; ++r) {
    form.decode_row(r, codes.data(), scale.data(), offset.data());
    for (size_t g = 0; g < form.groups.size(); ++g)
      for (int64_t i = form.groups[g].begin; i < form.groups[g].begin + form.groups[g].len; ++i) {
        ASSERT_LT(codes[size_t(i)], 1u << form.groups[g].bits);
        const float v = scale[g] * float(codes[size_t(i)]) + offset[g];
        const float want = w[size_t(r * cols + i)];
        ASSERT_LE(std::fabs(v - want), tol.affine * (std::fabs(want) + std::fabs(offset[g]) + std::fabs(scale[g])))
            << "row " << r << " column " << i;
      }
  }

  // The one-token path: the interleaved kernel where the format fits it, else the batch path.
  ThreadPool pool(2);
  const model::PackedLinear linear(t);
  EXPECT_EQ(linear.interleaved() != nullptr, kernels::InterleavedWeights::supports(form));
  std::vector<float> one(static_cast<size_t>(rows));
  linear.forward(x.data(), 1, one.data(), pool);
  expect_close(one, std::vector<float>(dense.begin(), dense.begin() + rows), w, x, rows, cols, 1, tol.kernel,
               "one-token forward");

  // A part one byte short, or missing, is refused.
  for (size_t p = 0; p < t.parts.size(); ++p) {
    PackedTensor cut = t;
    cut.parts[p].bytes.edit().pop_back();
    EXPECT_THROW(ops.validate(cut), Error) << "part " << t.parts[p].suffix << " one byte short";
    PackedTensor missing = t;
    missing.parts.erase(missing.parts.begin() + long(p));
    EXPECT_THROW(ops.validate(missing), Error) << "part " << t.parts[p].suffix << " missing";
  }
}

TEST(FormatContract, EveryRegisteredFormatKeepsIt) {
  ASSERT_FALSE(all_formats().empty());
  for (const FormatOps& ops : all_formats()) {
    SCOPED_TRACE(ops.name);
    ASSERT_TRUE(kTolerances.count(ops.name)) << "format '" << ops.name << "' needs its tolerances in kTolerances";
    EXPECT_EQ(&format_ops(ops.name), &ops);
    for (const auto& shape : kShapes)
      for (uint64_t seed = 0; seed < kSeeds; ++seed) check_contract(ops, kTolerances.at(ops.name), shape[0], shape[1], seed);
  }
}

TEST(FormatContract, EveryFormatRefusesParametersOfAnotherFormat) {
  for (const FormatOps& ops : all_formats())
    for (const FormatOps& other : all_formats()) {
      if (&ops == &other) continue;
      PackedTensor t = other.random(4, 96, 1);
      t.format = ops.name;
      EXPECT_THROW(ops.validate(t), Error) << ops.name << " given " << other.name << "'s parameters";
    }
}

}  // namespace
}  // namespace mixq::formats
