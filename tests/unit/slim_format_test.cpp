// Golden vectors pin the `slim` layout documented in formats/slim.hpp.
#include <gtest/gtest.h>

#include <random>

#include "mixq/core/error.hpp"
#include "mixq/formats/registry.hpp"
#include "mixq/formats/slim.hpp"

namespace mixq::formats {
namespace {

// One row of 10 columns in groups of 4 (4, 4, 2) at widths 1, 3, 2 around N = 2.
PackedTensor golden() {
  const std::vector<uint8_t> codes = {1, 0, 1, 1, 7, 0, 5, 2, 3, 1};
  return SlimFormat::pack(1, 10, std::vector<int>{1, 3, 2}, codes, std::vector<float>{0.5f, 1.f, 2.f},
                          std::vector<float>{0.25f, 4.f, 1.f}, SlimParams{2, 4});
}

}  // namespace

TEST(SlimFormat, GoldenVectorsOfWidthMapAndPerGroupWords) {
  const auto t = golden();
  EXPECT_EQ(t.part("widths").bytes, (std::vector<uint8_t>{0x18}));  // 0 | 2 << 2 | 1 << 4
  EXPECT_EQ(t.part("codes").bytes, (std::vector<uint8_t>{0x0d, 0, 0, 0,      // 1-bit: 1,0,1,1
                                                         0x47, 0x05, 0, 0,   // 3-bit: 7,0,5,2
                                                         0x07, 0, 0, 0}));   // 2-bit: 3,1
  EXPECT_EQ(SlimFormat::widths(t), (std::vector<int>{1, 3, 2}));
}

TEST(SlimFormat, ThreeBitCodesFormOneBitStreamThirtyTwoInThreeWords) {
  std::vector<uint8_t> codes(32);
  for (int i = 0; i < 32; ++i) codes[size_t(i)] = uint8_t(i * 5 % 8);  // 0 5 2 7 4 1 6 3 …
  const std::vector<float> one{1.f};
  const auto t = SlimFormat::pack(1, 32, std::vector<int>{3}, codes, one, one, SlimParams{3, 32});
  EXPECT_EQ(t.part("codes").bytes, (std::vector<uint8_t>{0xa8, 0xce, 0x78, 0xa8, 0xce, 0x78, 0xa8, 0xce, 0x78, 0xa8,
                                                         0xce, 0x78}));  // code 10 straddles words 0 and 1
  std::vector<float> row(32);
  SlimFormat::dequantize_rows(t, 0, 1, row.data());
  for (int i = 0; i < 32; ++i) EXPECT_EQ(row[size_t(i)], float(codes[size_t(i)]) - 1.f);
}

TEST(SlimFormat, DequantizesBinaryGroupsWithTheirMeanAndIntegerGroupsAsScaleTimesCodeMinusZero) {
  const auto t = golden();
  std::vector<float> row(10), ref(10), one_hot(10, 0.f);
  SlimFormat::dequantize_rows(t, 0, 1, row.data());
  EXPECT_EQ(row, (std::vector<float>{0.75f, -0.25f, 0.75f, 0.75f, 3.f, -4.f, 1.f, -2.f, 4.f, 0.f}));
  for (int i = 0; i < 10; ++i) {  // the scalar reference decodes the same values
    std::fill(one_hot.begin(), one_hot.end(), 0.f);
    one_hot[size_t(i)] = 1.f;
    SlimFormat::gemm_reference(t, one_hot.data(), 1, &ref[size_t(i)], 0, 1);
  }
  EXPECT_EQ(ref, row);
  EXPECT_EQ(SlimFormat::code_histogram(t), (std::vector<int64_t>{1, 1, 1}));
}

TEST(SlimFormat, BitsPerWeightAreCountedFromStoredBytesIncludingTheMap) {
  std::mt19937 rng(5);
  for (int n : {2, 3, 4, 7})
    for (int group : {32, 128})
      for (auto [rows, cols] : {std::pair<int64_t, int64_t>{256, 768}, {172, 64}, {64, 172}, {3, 5}}) {
        const SlimParams p{n, group};
        std::vector<int> widths(size_t(p.groups(cols)));
        for (auto& w : widths) w = n - 1 + int(rng() % 3);
        std::vector<uint8_t> codes(size_t(rows * cols), 0);
        for (int64_t i = 0; i < rows * cols; ++i) codes[size_t(i)] = uint8_t(rng() % (1u << widths[size_t(i % cols / group)]));
        const std::vector<float> ones(size_t(rows * p.groups(cols)), 1.f);
        const auto t = SlimFormat::pack(rows, cols, widths, codes, ones, ones, p);
        EXPECT_EQ(t.total_bytes(), SlimFormat::bytes_for(rows, cols, p, widths));
        EXPECT_NO_THROW(SlimFormat::validate(t));
        // The fast row decoder and the scalar reference agree exactly.
        std::vector<float> fast(static_cast<size_t>(rows * cols)), x(static_cast<size_t>(cols), 0.f), y(static_cast<size_t>(rows));
        SlimFormat::dequantize_rows(t, 0, rows, fast.data());
        for (int64_t i = 0; i < cols; i += std::max<int64_t>(1, cols / 7)) {
          x.assign(size_t(cols), 0.f);
          x[size_t(i)] = 1.f;
          SlimFormat::gemm_reference(t, x.data(), 1, y.data(), 0, rows);
          for (int64_t r = 0; r < rows; ++r) ASSERT_EQ(y[size_t(r)], fast[size_t(r * cols + i)]);
        }
      }
  // 2-bit map + 4 bytes of grid per (row, group) on top of the codes: 256×768 at N = 2, G = 128,
  // widths 1,1,2,2,3,3: (16 + 16 + 32 + 32 + 48 + 48 bytes + 4 × 6) × 256 rows + 2 map bytes —
  // the payload is exactly 2 bits/weight.
  const SlimParams p{2, 128};
  EXPECT_EQ(SlimFormat::bytes_for(256, 768, p, std::vector<int>{1, 1, 2, 2, 3, 3}), size_t((192 + 24) * 256 + 2));
}

TEST(SlimFormat, DamagedTensorsAndBadParametersAreRefused) {
  EXPECT_THROW(SlimParams({1, 128}).validate(), Error);
  EXPECT_THROW(SlimParams({8, 128}).validate(), Error);
  EXPECT_THROW(SlimParams({2, 0}).validate(), Error);
  const std::vector<float> one{1.f};
  EXPECT_THROW(SlimFormat::pack(1, 4, std::vector<int>{4}, std::vector<uint8_t>(4, 0), one, one, {2, 4}), Error);
  EXPECT_THROW(SlimFormat::pack(1, 4, std::vector<int>{1}, std::vector<uint8_t>{0, 2, 0, 0}, one, one, {2, 4}), Error);
  auto bad_map = golden();
  bad_map.parts[0].bytes.edit()[0] = 0x1b;  // group 0 width code 3
  EXPECT_THROW(SlimFormat::validate(bad_map), Error);
  auto short_codes = golden();
  short_codes.parts[1].bytes.edit().pop_back();
  EXPECT_THROW(SlimFormat::validate(short_codes), Error);
  auto inf_scale = golden();
  inf_scale.parts[2].bytes.edit()[1] = 0x7c;  // fp16 +Inf
  inf_scale.parts[2].bytes.edit()[0] = 0x00;
  EXPECT_THROW(format_ops("slim").validate(inf_scale), Error);
  auto no_zeros = golden();
  no_zeros.parts.pop_back();
  EXPECT_THROW(SlimFormat::validate(no_zeros), Error);
}

}  // namespace mixq::formats
