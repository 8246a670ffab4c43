// Shape limits of every packed format's validate(): a declared shape whose size arithmetic would
// wrap around int64 must be refused before any decoder trusts it.
#include <gtest/gtest.h>

#include "mixq/core/error.hpp"
#include "formats/format_util.hpp"
#include "mixq/formats/registry.hpp"
#include "mixq/formats/uniform.hpp"

namespace mixq::formats {
namespace {

PackedPart empty_part(const char* suffix, io::DType dtype, int64_t rows, int64_t cols) {
  return {suffix, dtype, {rows, cols}, {}};
}

void expect_refused(const PackedTensor& t) {
  try {
    format_ops(t.format).validate(t);
    FAIL() << t.format << " accepted shape [" << t.rows << ", " << t.cols << "]";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("larger than"), std::string::npos) << e.what();
  }
}

}  // namespace

// rows 2^62 × cols 2^32 at 8 bits with 2 groups of 2^31: codes need rows × 2^32 bytes and scales
// rows × 2 × 2 bytes, both ≡ 0 mod 2^64, so empty parts would match a wrapped-around size check
// and the decoders would then read row 0 out of bounds.
TEST(PackedLimits, WrappingShapeIsRefusedByUniform) {
  const int64_t rows = int64_t(1) << 62, cols = int64_t(1) << 32;
  PackedTensor t{"uniform", UniformParams{8, 1 << 30, true}, rows, cols, {}};
  t.parts = {empty_part("codes", io::DType::U8, rows, cols), empty_part("scales", io::DType::F16, rows, 4)};
  expect_refused(t);
}

TEST(PackedLimits, EveryFormatRefusesADimensionAboveTheLimit) {
  const int64_t big = kMaxPackedDim + 1;
  for (const FormatOps& ops : all_formats()) {
    SCOPED_TRACE(ops.name);
    PackedTensor t = ops.random(4, 96, 0);
    t.parts.clear();
    t.rows = big;
    expect_refused(t);
    t.rows = 64;
    t.cols = big;
    expect_refused(t);
  }
}

}  // namespace mixq::formats
