// Golden vectors pin the `fineq` byte layout documented in formats/fineq.hpp.
#include <gtest/gtest.h>

#include "mixq/core/error.hpp"
#include "mixq/formats/fineq.hpp"
#include "mixq/formats/registry.hpp"

namespace mixq::formats {
namespace {

// The golden vectors are written for the paper's grids (INT3 wide, INT2 two's complement).
uint8_t encode(std::array<float, 3> w, const FineqParams& p = FineqParams::paper(), float delta = 1.f) {
  return fineq_encode(w.data(), delta, fineq_ratio_mode(w.data(), p.threshold), FineqGrids(p));
}

FineqParams with_grids(const char* int3, const char* int2) {
  FineqParams p = FineqParams::paper();
  p.int3 = parse_enum<FineqInt3>(int3, "test");
  p.int2 = parse_enum<FineqInt2>(int2, "test");
  return p;
}

}  // namespace

TEST(FineqFormat, GoldenBytesPerIndex) {
  // INT2 cluster (max 2 ≤ 4 × min 1): idx 00, codes −2, 1, 1 → 10 01 01.
  EXPECT_EQ(encode({-2.f, 1.f, 1.f}), 0x25);
  // Pruned position 0 (|0| smallest): idx 01, kept 1 → 001, −1 → 111.
  EXPECT_EQ(encode({0.f, 1.f, -1.f}), 0x4f);
  // Pruned position 1: idx 10, kept 3 → 011, −4 → 100.
  EXPECT_EQ(encode({3.f, 0.1f, -4.f}), 0x9c);
  // Pruned position 2: idx 11, kept −3 → 101, 2 → 010.
  EXPECT_EQ(encode({-3.f, 2.f, 0.2f}), 0xea);
}

TEST(FineqFormat, DecodeTableGivesHalfStepsForEveryGrid) {
  const auto wide = fineq_decode_table(FineqParams::paper());
  EXPECT_EQ(wide[0x9c], (std::array<int8_t, 3>{6, 0, -8}));
  EXPECT_EQ(wide[0x25], (std::array<int8_t, 3>{-4, 2, 2}));
  const auto fine = fineq_decode_table(with_grids("fine", "twos"));
  EXPECT_EQ(fine[0x9c], (std::array<int8_t, 3>{3, 0, -4}));
  const auto sym = fineq_decode_table(with_grids("wide", "sym"));
  EXPECT_EQ(sym[0x25], (std::array<int8_t, 3>{-3, 3, 3}));
  EXPECT_EQ(sym[0x00], (std::array<int8_t, 3>{1, 1, 1}));
}

// Every byte of every grid combination: decoding it and re-encoding the values in its mode gives
// the byte back, so the table and the encoder agree on every index and every code.
TEST(FineqFormat, EveryByteRoundTripsThroughTheTable) {
  for (const char* int3 : {"wide", "fine"})
    for (const char* int2 : {"twos", "sym"}) {
      const FineqParams p = with_grids(int3, int2);
      const auto table = fineq_decode_table(p);
      const FineqGrids g(p);
      for (int b = 0; b < 256; ++b) {
        const float delta = 0.5f;
        float w[3];
        for (int i = 0; i < 3; ++i) w[i] = float(table[size_t(b)][size_t(i)]) * delta / 2;
        float err = -1;
        EXPECT_EQ(fineq_encode(w, delta, (b >> 6) - 1, g, &err), b) << int3 << "/" << int2;
        EXPECT_EQ(err, 0.f);
      }
    }
}

TEST(FineqFormat, PadsRowsAndCountsEveryByte) {
  const FineqParams p = FineqParams::paper();
  // 7 columns → 3 clusters (2 padding weights) + one fp16 step per row.
  EXPECT_EQ(FineqFormat::bytes_for(2, 7, p), size_t(2 * (3 + 2)));
  const std::vector<uint8_t> bytes = {0x25, 0x4f, 0x00, 0x9c, 0xea, 0x00};
  const auto t = FineqFormat::pack(2, 7, bytes, std::vector<float>{2.f, 1.f}, p);
  EXPECT_DOUBLE_EQ(t.bits_per_weight(), 8.0 * 10 / 14);
  FineqFormat::validate(t);
  std::vector<float> w(14);
  FineqFormat::dequantize_rows(t, 0, 2, w.data());
  EXPECT_EQ(w, (std::vector<float>{-4, 2, 2, 0, 2, -2, 0, /* row 1 */ 3, 0, -4, -3, 2, 0, 0}));
  EXPECT_EQ(FineqFormat::code_histogram(t), (std::vector<int64_t>{3, 1, 1, 1}));  // padding clusters are INT2 zeros
  EXPECT_EQ(format_ops("fineq").name, std::string("fineq"));
}

TEST(FineqFormat, RejectsBadParameters) {
  FineqParams p;
  p.group = 4;
  EXPECT_THROW(p.validate(), Error);
  p = {};
  p.threshold = 0.5;
  EXPECT_THROW(p.validate(), Error);
  // An unknown grid name is refused where parameters are read (a file's JSON).
  auto json = FineqParams{}.to_json();
  json["int3"] = "huge";
  EXPECT_THROW(FineqParams::from_json(json), Error);
  EXPECT_THROW(FineqFormat::pack(1, 3, std::vector<uint8_t>{0, 0}, std::vector<float>{1.f}, FineqParams{}), Error);
}

}  // namespace mixq::formats
