#pragma once
// Small pieces every format's reference code needs: fp16 values of a part, and the scalar
// reference GEMM written once over a row decoder.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "mixq/core/error.hpp"
#include "mixq/core/half.hpp"
#include "mixq/formats/packed_tensor.hpp"

namespace mixq::formats {

// Element i of an F16 part.
inline float f16_part_at(const PackedPart& p, size_t i) {
  uint16_t h;
  std::memcpy(&h, p.bytes.data() + 2 * i, 2);
  return f16_to_f32(h);
}

// Largest rows or cols a packed tensor may declare (16 M: above any vocabulary or hidden size).
// Bounding both keeps every size derived from them (rows × part columns × element bytes) far
// below int64 overflow, so a hostile shape can never wrap around to match the bytes present.
inline constexpr int64_t kMaxPackedDim = int64_t(1) << 24;

// Error (naming `format`) unless t's shape is non-empty and within kMaxPackedDim. Every format's
// validate() calls it first.
inline void expect_shape(const PackedTensor& t, const char* format) {
  if (t.rows <= 0 || t.cols <= 0 || t.rows > kMaxPackedDim || t.cols > kMaxPackedDim)
    fail(format, "tensor shape [{}, {}] is empty, negative or larger than {} in a dimension", t.rows, t.cols,
         kMaxPackedDim);
}

// Error (naming `format`) unless part `suffix` of t is exactly `dtype` [rows, cols] with that many
// bytes, and — for F16 parts (scales, zeros) — every value is finite. Formats' validate() use it.
inline void expect_part(const PackedTensor& t, const char* format, const char* suffix, io::DType dtype, int64_t cols) {
  const PackedPart& part = t.part(suffix);
  if (part.dtype != dtype || part.shape != std::vector<int64_t>{t.rows, cols} ||
      part.bytes.size() != size_t(t.rows * cols) * io::dtype_size(dtype))
    fail(format, "part '{}' should be {} [{}, {}] for a [{}, {}] tensor", suffix, io::dtype_name(dtype), t.rows, cols,
         t.rows, t.cols);
  if (dtype == io::DType::F16)
    for (size_t i = 0; i < part.bytes.size() / 2; ++i)
      if (!std::isfinite(f16_part_at(part, i))) fail(format, "part '{}' holds a non-finite value at {}", suffix, i);
}

// Codes packed ⌊32 / BITS⌋ to a little-endian 32-bit word (code i at bits [(i mod k)·BITS, …) of
// word ⌊i / k⌋, never straddling), a whole word at a time: BITS is a compile-time constant so the
// inner loop unrolls. `codes` has room for words × k entries (padding codes are 0).
template <int BITS>
void unpack_code_words(const uint8_t* base, int64_t words, uint8_t* codes) {
  constexpr int k = 32 / BITS;
  constexpr uint32_t mask = (1u << BITS) - 1;
  for (int64_t w = 0; w < words; ++w) {
    uint32_t word;
    std::memcpy(&word, base + w * 4, 4);  // the layout is little-endian, as is every supported host
    for (int j = 0; j < k; ++j) codes[w * k + j] = uint8_t((word >> (j * BITS)) & mask);
  }
}

// Calls fn(std::integral_constant<int, B>{}) for a code width B = bits known at run time (1…8), so
// a decoder is written once as a template and instantiated for every width.
template <typename Fn>
void with_code_width(int bits, Fn&& fn) {
  switch (bits) {
    case 1: return fn(std::integral_constant<int, 1>{});
    case 2: return fn(std::integral_constant<int, 2>{});
    case 3: return fn(std::integral_constant<int, 3>{});
    case 4: return fn(std::integral_constant<int, 4>{});
    case 5: return fn(std::integral_constant<int, 5>{});
    case 6: return fn(std::integral_constant<int, 6>{});
    case 7: return fn(std::integral_constant<int, 7>{});
    case 8: return fn(std::integral_constant<int, 8>{});
    default: fail("unpack", "code width {} is outside 1…8", bits);
  }
}

// Y[k][r] = Σ_i Ŵ[r][i] X[k][i] for rows [row_begin, row_end), each row decoded once by
// `decode_row(r, out)` and dotted in index order (the scalar specification of every GEMM kernel).
template <typename DecodeRow>
void gemm_by_decoded_rows(const PackedTensor& t, const float* x, size_t n, float* y, int64_t row_begin, int64_t row_end,
                          DecodeRow&& decode_row) {
  std::vector<float> w(static_cast<size_t>(t.cols));
  for (int64_t r = row_begin; r < row_end; ++r) {
    decode_row(r, w.data());
    for (size_t k = 0; k < n; ++k) {
      const float* xk = x + k * size_t(t.cols);
      float acc = 0.f;
      for (int64_t i = 0; i < t.cols; ++i) acc += w[size_t(i)] * xk[i];
      y[k * size_t(t.rows) + size_t(r)] = acc;
    }
  }
}

}  // namespace mixq::formats
