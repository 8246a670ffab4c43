// Golden vectors pin the `uniform` bit layout documented in formats/uniform.hpp.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "mixq/core/error.hpp"
#include "mixq/core/half.hpp"
#include "mixq/formats/grid_quantizer.hpp"
#include "mixq/formats/registry.hpp"
#include "mixq/formats/uniform.hpp"

namespace mixq::formats {
namespace {

PackedTensor pack_one_row(const std::vector<uint8_t>& codes, int bits, float scale = 1.f, float zero = 0.f) {
  UniformParams p{bits, 0, false};
  return UniformFormat::pack(1, int64_t(codes.size()), codes, std::vector<float>{scale}, std::vector<float>{zero}, p);
}

}  // namespace

TEST(UniformFormat, ThreeBitCodesPackTenPerWordWithoutStraddling) {
  const auto t = pack_one_row({0, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3}, 3);
  EXPECT_EQ(t.part("codes").bytes, (std::vector<uint8_t>{0x88, 0xc6, 0xfa, 0x08, 0x1a, 0x00, 0x00, 0x00}));
}

TEST(UniformFormat, TwoFourAndEightBitGoldenVectors) {
  EXPECT_EQ(pack_one_row({3, 2, 1, 0, 3, 2, 1, 0, 3, 2, 1, 0, 3, 2, 1, 0}, 2).part("codes").bytes,
            (std::vector<uint8_t>{0x1b, 0x1b, 0x1b, 0x1b}));
  EXPECT_EQ(pack_one_row({15, 1, 2, 3, 4, 5, 6, 7, 9}, 4).part("codes").bytes,
            (std::vector<uint8_t>{0x1f, 0x32, 0x54, 0x76, 0x09, 0x00, 0x00, 0x00}));
  EXPECT_EQ(pack_one_row({0xab, 0x01, 0xff}, 8).part("codes").bytes, (std::vector<uint8_t>{0xab, 0x01, 0xff, 0x00}));
}

TEST(UniformFormat, ScalesAndZerosAreFp16AndDequantizeAsScaleTimesCodeMinusZero) {
  const auto t = pack_one_row({0, 1, 2, 3}, 2, 0.5f, 1.f);
  EXPECT_EQ(t.part("scales").bytes, (std::vector<uint8_t>{0x00, 0x38}));  // 0.5 in fp16
  EXPECT_EQ(t.part("zeros").bytes, (std::vector<uint8_t>{0x00, 0x3c}));   // 1.0 in fp16
  std::vector<float> row(4);
  UniformFormat::dequantize_rows(t, 0, 1, row.data());
  EXPECT_EQ(row, (std::vector<float>{-0.5f, 0.f, 0.5f, 1.f}));
}

TEST(UniformFormat, SymmetricStoresNoZerosAndCentresTheGrid) {
  UniformParams p{4, 0, true};
  const auto t = UniformFormat::pack(1, 3, std::vector<uint8_t>{0, 8, 15}, std::vector<float>{1.f}, {}, p);
  EXPECT_THROW(t.part("zeros"), Error);
  std::vector<float> row(3);
  UniformFormat::dequantize_rows(t, 0, 1, row.data());
  EXPECT_EQ(row, (std::vector<float>{-8.f, 0.f, 7.f}));
}

TEST(UniformFormat, BitsPerWeightAreCountedFromStoredBytes) {
  for (int bits : {2, 3, 4, 8})
    for (int group : {0, 32, 64, 128})
      for (bool sym : {false, true})
        for (auto [rows, cols] : {std::pair<int64_t, int64_t>{256, 768}, {172, 64}, {64, 172}, {3, 5}}) {
          UniformParams p{bits, group, sym};
          const int64_t groups = p.groups(cols);
          const auto t = UniformFormat::pack(rows, cols, std::vector<uint8_t>(size_t(rows * cols), 1),
                                             std::vector<float>(size_t(rows * groups), 1.f),
                                             std::vector<float>(size_t(rows * groups), 0.f), p);
          EXPECT_EQ(t.total_bytes(), UniformFormat::bytes_for(rows, cols, p));
        }
  // 4-bit, group 128, asymmetric on a 768-wide row: 96 words (384 B) + 6 × (2 + 2) B = 408 B.
  UniformParams p{4, 128, false};
  EXPECT_EQ(UniformFormat::bytes_for(1, 768, p), 408u);
  // 3-bit rows of 172 (stories260K's w2): ⌈172 / 10⌉ = 18 words; groups of 128 leave a 44-wide last group.
  EXPECT_EQ(UniformParams({3, 128, false}).groups(172), 2);
  EXPECT_EQ(UniformFormat::bytes_for(1, 172, {3, 128, false}), 18u * 4 + 2 * 4);
}

TEST(UniformFormat, RejectsBadParametersAndCodes) {
  EXPECT_THROW(UniformParams({5, 128, false}).validate(), Error);
  EXPECT_THROW(UniformParams({1, 128, false}).validate(), Error);
  EXPECT_THROW(UniformParams({4, -1, false}).validate(), Error);
  EXPECT_THROW(pack_one_row({4}, 2), Error);  // 4 needs 3 bits
  EXPECT_THROW(format_ops("q9_magic"), Error);
}

// The kernels' word-at-a-time decode (dequantize_rows) against the reference unpack, on shapes
// whose rows end mid-word and groups that end mid-row.
TEST(UniformFormat, KernelDecodeEqualsReferenceUnpack) {
  for (int bits : {2, 3, 4, 8})
    for (int64_t cols : {1, 7, 31, 32, 33, 100, 172}) {
      const int64_t rows = 3;
      const UniformParams p{bits, 32, false};
      std::vector<uint8_t> codes(size_t(rows * cols));
      for (size_t i = 0; i < codes.size(); ++i) codes[i] = uint8_t((i * 2654435761u >> 7) & ((1u << bits) - 1));
      std::vector<float> scales(size_t(rows * p.groups(cols))), zeros(scales.size());
      for (size_t g = 0; g < scales.size(); ++g) scales[g] = 0.25f + 0.125f * float(g), zeros[g] = float(g % 3);
      const auto t = UniformFormat::pack(rows, cols, codes, scales, zeros, p);
      std::vector<float> fast(size_t(rows * cols));
      UniformFormat::dequantize_rows(t, 0, rows, fast.data());
      std::vector<uint8_t> ref(static_cast<size_t>(cols));
      for (int64_t r = 0; r < rows; ++r) {
        UniformFormat::unpack_row(t, r, ref.data());
        for (int64_t i = 0; i < cols; ++i) {
          ASSERT_EQ(ref[size_t(i)], codes[size_t(r * cols + i)]);
          const size_t g = size_t(r * p.groups(cols) + i / 32);
          ASSERT_EQ(fast[size_t(r * cols + i)], scales[g] * (float(ref[size_t(i)]) - zeros[g])) << bits << " " << cols;
        }
      }
    }
}

TEST(GridQuantizer, KeepsZeroExactAndFitsTheRange) {
  const std::vector<float> w = {-0.3f, 0.1f, 0.9f, 0.f};
  const auto q = GridQuantizer::fit(w.data(), w.size(), 1, 4, false);
  EXPECT_EQ(q.value(q.code(0.f)), 0.f);
  for (float v : w) EXPECT_LE(std::fabs(q.value(q.code(v)) - v), q.scale / 2 * 1.001f);
  const auto m = GridQuantizer::fit_mse(w.data(), w.size(), 1, 2, false);
  double e_mse = 0, e_minmax = 0;
  const auto mm = GridQuantizer::fit(w.data(), w.size(), 1, 2, false);
  for (float v : w) {
    e_mse += std::pow(m.value(m.code(v)) - v, 2);
    e_minmax += std::pow(mm.value(mm.code(v)) - v, 2);
  }
  EXPECT_LE(e_mse, e_minmax);
}

}  // namespace mixq::formats

namespace mixq::formats {
namespace {

// ggml's own decoding of a block (ggml-quants.c dequantize_row_q8_0 / q4_0): y = d · q and
// y = d · (q − 8) with the low nibbles first.
std::vector<float> ggml_decode(const GgmlBlocks& b, int64_t rows, int64_t cols) {
  std::vector<float> y(size_t(rows * cols));
  const bool q8 = b.type == io::GgmlType::Q8_0;
  const size_t block_bytes = q8 ? 34 : 18;
  for (size_t blk = 0; blk < size_t(rows * cols / 32); ++blk) {
    const char* p = b.bytes.data() + blk * block_bytes;
    uint16_t h;
    std::memcpy(&h, p, 2);
    const float d = f16_to_f32(h);
    for (int j = 0; j < 32; ++j) {
      int q;
      if (q8) q = int8_t(p[2 + j]);
      else q = (j < 16 ? (uint8_t(p[2 + j]) & 15) : (uint8_t(p[2 + j - 16]) >> 4)) - 8;
      y[blk * 32 + size_t(j)] = d * float(q);
    }
  }
  return y;
}

TEST(UniformFormat, SymmetricG32EightAndFourBitAreQ8_0AndQ4_0BitForBit) {
  for (int bits : {8, 4}) {
    UniformParams p;
    p.bits = bits;
    p.group = 32;
    p.symmetric = true;
    const int64_t rows = 5, cols = 96;
    std::mt19937 rng{uint32_t(bits)};
    std::vector<uint8_t> codes(size_t(rows * cols));
    for (auto& c : codes) c = uint8_t(rng() % (1u << bits));
    std::vector<float> scales(size_t(rows * 3));
    for (auto& s : scales) s = f16_to_f32(f32_to_f16(std::uniform_real_distribution<float>(1e-4f, 0.1f)(rng)));
    const PackedTensor t = UniformFormat::pack(rows, cols, codes, scales, {}, p);
    std::string why;
    const auto b = UniformFormat::ggml_blocks(t, &why);
    ASSERT_TRUE(b) << why;
    EXPECT_EQ(b->type, bits == 8 ? io::GgmlType::Q8_0 : io::GgmlType::Q4_0);
    EXPECT_EQ(b->bytes.size(), size_t(rows * 3 * (bits == 8 ? 34 : 18)));
    std::vector<float> ours(size_t(rows * cols));
    UniformFormat::dequantize_rows(t, 0, rows, ours.data());
    EXPECT_EQ(ggml_decode(*b, rows, cols), ours) << bits << "-bit";
  }
  // Anything else says why, naming the exact ones.
  UniformParams p;
  p.bits = 4;
  p.group = 32;
  std::vector<uint8_t> codes(64, 3);
  std::vector<float> scales(2, 0.5f), zeros(2, 7.f);
  std::string why;
  EXPECT_FALSE(UniformFormat::ggml_blocks(UniformFormat::pack(1, 64, codes, scales, zeros, p), &why));
  EXPECT_NE(why.find("asymmetric"), std::string::npos) << why;
  EXPECT_NE(why.find("Q4_0"), std::string::npos) << why;
}

}  // namespace
}  // namespace mixq::formats
