// The interleaved layout (kernels/interleaved.hpp) on synthetic affine tensors: every code is read
// back from its planes, the SIMD GEMV matches the layout's scalar reference, and both match the
// fp32 product within the int8 activation rounding.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <random>
#include <set>
#include <sstream>

#define HWY_WANT_AVX3_DL  // list the targets the kernel's file is compiled for, AVX3_DL included
#include <hwy/targets.h>

#include "mixq/core/error.hpp"
#include "mixq/kernels/interleaved.hpp"

namespace mixq::kernels {
namespace {

struct Synthetic {
  int64_t rows, cols;
  formats::AffineForm form;
  std::vector<uint8_t> codes;
  std::vector<float> scale, offset;
  std::vector<float> dense;  // scale·code + offset
};

// Groups of `group` columns (0: one per row) whose widths cycle through `widths`.
Synthetic make(int64_t rows, int64_t cols, int64_t group, std::vector<int> widths, uint32_t seed) {
  Synthetic s{rows, cols, {}, {}, {}, {}, {}};
  const int64_t gs = group > 0 ? group : cols;
  for (int64_t b = 0, g = 0; b < cols; b += gs, ++g)
    s.form.groups.push_back({b, std::min(gs, cols - b), widths[size_t(g) % widths.size()]});
  const size_t groups = s.form.groups.size();
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  s.codes.resize(size_t(rows * cols));
  s.scale.resize(size_t(rows) * groups);
  s.offset.resize(size_t(rows) * groups);
  for (int64_t r = 0; r < rows; ++r)
    for (size_t g = 0; g < groups; ++g) {
      const auto& grp = s.form.groups[g];
      s.scale[size_t(r) * groups + g] = 0.01f + std::fabs(u(rng));
      s.offset[size_t(r) * groups + g] = u(rng);
      for (int64_t i = 0; i < grp.len; ++i) s.codes[size_t(r * cols + grp.begin + i)] = uint8_t(rng() % (1u << grp.bits));
    }
  s.dense.resize(s.codes.size());
  for (int64_t r = 0; r < rows; ++r)
    for (size_t g = 0; g < groups; ++g)
      for (int64_t i = 0; i < s.form.groups[g].len; ++i) {
        const size_t at = size_t(r * cols + s.form.groups[g].begin + i);
        s.dense[at] = s.scale[size_t(r) * groups + g] * float(s.codes[at]) + s.offset[size_t(r) * groups + g];
      }
  s.form.decode_row = [&s, groups](int64_t r, uint8_t* codes, float* scale, float* offset) {
    std::copy_n(&s.codes[size_t(r * s.cols)], s.cols, codes);
    std::copy_n(&s.scale[size_t(r) * groups], groups, scale);
    std::copy_n(&s.offset[size_t(r) * groups], groups, offset);
  };
  return s;
}

void expect_gemv_matches(const Synthetic& s, uint32_t seed) {
  const InterleavedWeights w(s.form, s.rows, s.cols);
  for (int64_t r = 0; r < s.rows; ++r)
    for (int64_t c = 0; c < s.cols; ++c) ASSERT_EQ(w.code_at(r, c), s.codes[size_t(r * s.cols + c)]) << r << "," << c;
  std::mt19937 rng(seed);
  std::normal_distribution<float> n(0.f, 1.f);
  std::vector<float> x(static_cast<size_t>(s.cols));
  for (auto& v : x) v = n(rng);
  x[3] = 40.f;  // an outlier activation: its 16 columns' scale is 40/127
  QuantizedActivations a;
  w.quantize(x.data(), a);
  std::vector<float> y(static_cast<size_t>(s.rows)), ref(y.size());
  w.gemv(a, y.data(), 0, s.rows);
  w.gemv_reference(a, ref.data(), 0, s.rows);
  // Any split of the rows (as threads take them: blocks that start mid-tile, single rows) gives
  // the same bits: each row's arithmetic does not depend on the rows computed with it.
  std::vector<float> split(y.size());
  const int64_t cut = std::min<int64_t>(3, s.rows);
  w.gemv(a, split.data(), 0, cut);
  w.gemv(a, split.data(), cut, s.rows);
  for (size_t r = 0; r < y.size(); ++r) ASSERT_EQ(split[r], y[r]) << "row " << r;
  const float xmax = *std::max_element(x.begin(), x.end(), [](float p, float q) { return std::fabs(p) < std::fabs(q); });
  for (int64_t r = 0; r < s.rows; ++r) {
    double exact = 0, mag = 0, wabs = 0;
    for (int64_t c = 0; c < s.cols; ++c) {
      const double wv = s.dense[size_t(r * s.cols + c)];
      exact += wv * x[size_t(c)];
      mag += std::fabs(wv * x[size_t(c)]);
      wabs += std::fabs(wv);
    }
    // SIMD and reference: the same exact integer sums, fp32 sums in another order.
    ASSERT_NEAR(y[size_t(r)], ref[size_t(r)], 1e-5 * mag + 1e-6) << "row " << r;
    // Against fp32 activations: each x moves by at most half its 16 columns' step (≤ max|x| / 254).
    ASSERT_NEAR(y[size_t(r)], exact, wabs * std::fabs(xmax) / 254 + 1e-5 * mag + 1e-6) << "row " << r;
  }
}

TEST(Interleaved, EveryWidthAndGroupShapeMatchesTheReference) {
  for (int bits = 1; bits <= 4; ++bits) { SCOPED_TRACE(bits); expect_gemv_matches(make(9, 256, 128, {bits}, 1u + unsigned(bits)), 7); }
  expect_gemv_matches(make(13, 512, 32, {1, 2, 3}, 2), 8);       // slim-like mixed widths, one scale per sub-block
  expect_gemv_matches(make(6, 384, 64, {2, 3, 2, 1}, 3), 9);     // two groups per chunk
  expect_gemv_matches(make(5, 172, 32, {2, 3}, 4), 10);          // a short last group, padded runs
  expect_gemv_matches(make(7, 258, 0, {4}, 5), 11);              // one group per row (FineQ-like)
  expect_gemv_matches(make(4, 4096, 128, {3, 1, 2, 2}, 6), 12);  // a 7B-wide row
}

// Every SIMD target compiled into the library and supported by this CPU (SSE4 and EMU128 take the
// 128-bit path, two vectors per chunk row; AVX2/AVX-512 one; AVX3_DL the VNNI multiply-add) against
// the scalar reference.
namespace {

// The instruction-set flags of this CPU (/proc/cpuinfo's "flags" or "Features" line).
std::set<std::string> cpu_flags() {
  std::ifstream in("/proc/cpuinfo");
  std::set<std::string> flags;
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("flags") || line.starts_with("Features")) {
      std::istringstream words(line.substr(line.find(':') + 1));
      for (std::string w; words >> w;) flags.insert(w);
      break;
    }
  return flags;
}

// The targets this CPU must run, from its own flags (the core of each of Highway's target
// requirements): a library that silently fell back to one target fails here.
std::vector<std::string> expected_targets() {
  const auto flags = cpu_flags();
  auto has = [&](std::initializer_list<const char*> need) {
    for (const char* f : need)
      if (!flags.count(f)) return false;
    return true;
  };
  std::vector<std::string> out;
  if (has({"avx512f", "avx512vl", "avx512dq", "avx512bw"})) out.push_back("AVX3");
  if (has({"avx2", "fma", "bmi2", "f16c"})) out.push_back("AVX2");
  if (has({"sse4_2"})) out.push_back("SSE4");
  if (has({"asimd"})) out.push_back("NEON");
  return out;
}

}  // namespace

TEST(Interleaved, EverySimdTargetMatchesTheReference) {
  int targets = 0;
  std::set<std::string> tested;
  for (int64_t target : hwy::SupportedAndGeneratedTargets()) {
    tested.insert(hwy::TargetName(target));
    hwy::SetSupportedTargetsForTest(target);
    SCOPED_TRACE(hwy::TargetName(target));
    expect_gemv_matches(make(13, 512, 32, {1, 2, 3, 4}, 21), 22);
    expect_gemv_matches(make(9, 384, 128, {3}, 23), 24);
    ++targets;
    std::cout << "target " << hwy::TargetName(target) << ": matches\n";
  }
  hwy::SetSupportedTargetsForTest(0);
  EXPECT_GE(targets, 1);
  for (const auto& name : expected_targets()) EXPECT_TRUE(tested.count(name)) << name << " is supported by this CPU but was not tested";
}

TEST(Interleaved, LayoutIsTheDocumentedOne) {
  // chunk_position is a bijection of 16 lanes × 8 slots onto the chunk's 128 positions, and lane h's
  // 32-bit pair (h, h ^ 1) stays inside one 32-column sub-block.
  std::vector<int> seen(128, 0);
  for (int h = 0; h < 16; ++h)
    for (int k = 0; k < 8; ++k) {
      ++seen[size_t(chunk_position(h, k))];
      EXPECT_EQ(chunk_position(h, k) / 32, chunk_position(h ^ 1, k) / 32);
      EXPECT_EQ(chunk_position(h, k) / 32, (h / 2) & 3);
    }
  EXPECT_TRUE(std::all_of(seen.begin(), seen.end(), [](int v) { return v == 1; }));
  // A 2-bit chunk: code 3 at column 0 of a one-row tensor sets bits 0–1 of the first byte; code
  // 1 at column 8 (lane 2, slot 0) bits 0–1 of byte 4. 1 bit: column 9 = lane 2 slot 1 = bit 1 of byte 2.
  Synthetic s = make(1, 128, 0, {2}, 1);
  std::fill(s.codes.begin(), s.codes.end(), 0);
  s.codes[0] = 3;
  s.codes[8] = 1;
  const InterleavedWeights w2(s.form, 1, 128);
  EXPECT_EQ(w2.code_at(0, 0), 3);
  EXPECT_EQ(w2.code_at(0, 8), 1);
  EXPECT_EQ(w2.bytes(), 32u + 8u);  // one chunk of 32 plane bytes + fp32 scale and offset
  // Tiles of 8 rows, chunk-major: row 1's chunk 0 follows row 0's (byte 32); row 0's chunk 1
  // follows chunk 0 of all 8 rows (byte 8 · 32).
  Synthetic t = make(2, 256, 0, {2}, 1);
  std::fill(t.codes.begin(), t.codes.end(), 0);
  t.codes[256] = 3;  // row 1, column 0
  t.codes[128] = 2;  // row 0, column 128
  const InterleavedWeights w3(t.form, 2, 256);
  const auto v = w3.view();
  EXPECT_EQ(v.tile_bytes, 8 * 64);
  EXPECT_EQ(v.codes[32], 3);
  EXPECT_EQ(v.codes[256], 2);
  EXPECT_EQ(std::count_if(v.codes, v.codes + v.tile_bytes, [](uint8_t b) { return b != 0; }), 2);
  // 3 bits: the 8 rows' low planes, then their bit planes; code 4 in row 1, column 0 is bit 0 of
  // byte 0 of row 1's bit plane.
  Synthetic u = make(2, 128, 0, {3}, 1);
  std::fill(u.codes.begin(), u.codes.end(), 0);
  u.codes[128] = 4;
  const InterleavedWeights w4(u.form, 2, 128);
  EXPECT_EQ(w4.view().codes[8 * 32 + 16], 1);
  EXPECT_EQ(w4.code_at(1, 0), 4);
}

TEST(Interleaved, RefusesCodesItCannotHold) {
  Synthetic s = make(2, 128, 0, {8}, 1);
  EXPECT_FALSE(InterleavedWeights::supports(s.form));
  EXPECT_THROW(InterleavedWeights(s.form, 2, 128), Error);
  Synthetic t = make(2, 128, 0, {2}, 1);
  t.codes[5] = 4;  // does not fit its group's 2 bits
  EXPECT_THROW(InterleavedWeights(t.form, 2, 128), Error);
}

}  // namespace
}  // namespace mixq::kernels
