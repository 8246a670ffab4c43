// The interleaved layout's GEMV with Google Highway's runtime dispatch (compiled once per SIMD
// target through foreach_target.h). Per chunk and row: four steps, each decoding 32 codes into
// bytes with a shift and a mask (and an OR for 3-/4-bit) and multiplying them with 32 int8
// activations, four bytes summed into each 32-bit lane (exact integers); then one fp32 multiply
// by the activation scale and one fused multiply-add by the weight scale. Four or eight rows
// share every activation load.
// AVX3_DL (AVX-512 with VNNI: Ice Lake, Zen 4) is opt-in in Highway 1.0: its vpdpbusd is the
// whole byte multiply-add in one instruction.
#define HWY_WANT_AVX3_DL
// The kernel keeps vectors in small arrays (four or eight rows at a time), which sizeless SVE/RVV vectors
// cannot be; ARM machines with SVE run the NEON target.
#define HWY_DISABLED_TARGETS (HWY_SVE | HWY_SVE2 | HWY_SVE_256 | HWY_SVE2_128 | HWY_RVV)
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/interleaved_simd.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <algorithm>
#include <utility>

#include "mixq/kernels/interleaved.hpp"

HWY_BEFORE_NAMESPACE();
namespace mixq::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

#if HWY_TARGET == HWY_SCALAR
// One-lane vectors cannot hold the byte pairs: the fallback target (GCC < 12.3 builds no EMU128)
// computes by the layout's definition.
void GemvInterleaved(const InterleavedWeights::View& v, const QuantizedActivations& a, float* HWY_RESTRICT y,
                     int64_t row_begin, int64_t row_end) {
  gemv_by_definition(v, a, y, row_begin, row_end);
}
#else
// Up to 16 u16 lanes (32 bytes): one chunk row per vector on 256-bit targets, two halves on
// 128-bit ones.
using D16 = hn::CappedTag<uint16_t, 16>;
using D8 = hn::Repartition<uint8_t, D16>;
using DI8 = hn::Repartition<int8_t, D16>;
using DI16 = hn::RebindToSigned<D16>;
using DI32 = hn::Repartition<int32_t, D16>;
using DF = hn::Repartition<float, D16>;
using V16 = hn::Vec<D16>;

// The byte dot product of one chunk row: over the four steps, Σ code (u8, ≤ 15) × activation (s8),
// four adjacent bytes summed into each 32-bit lane. DotStep adds one step, DotSum gives the lanes.
#if HWY_TARGET == HWY_AVX3_DL
using DotAcc = hn::Vec<DI32>;
HWY_INLINE DotAcc DotStep(DotAcc acc, hn::Vec<D8> codes, hn::Vec<DI8> x) {
  static_assert(hn::MaxLanes(D8()) == 32);
  // Not _mm256_dpbusd_epi32: Highway 1.0's AVX3_DL target string also enables AVX-VNNI, which
  // its runtime check does not test, and GCC then emits the VEX encoding of vpdpbusd — an
  // illegal instruction on AVX-512 VNNI machines without AVX-VNNI (Zen 4, Ice Lake). The asm
  // pins the EVEX encoding, which AVX3_DL's check does guarantee.
  __m256i sum = acc.raw;
  asm("%{evex%} vpdpbusd %2, %1, %0" : "+v"(sum) : "v"(codes.raw), "v"(x.raw));
  return DotAcc{sum};
}
HWY_INLINE hn::Vec<DI32> DotSum(DotAcc acc) { return acc; }
#else
// Pair sums in 16 bits: at most 4 steps · 2 · 15 · 127 = 15 240, no overflow (nor saturation).
using DotAcc = hn::Vec<DI16>;
HWY_INLINE DotAcc DotStep(DotAcc acc, hn::Vec<D8> codes, hn::Vec<DI8> x) {
#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3
  return hn::Add(acc, DotAcc{_mm256_maddubs_epi16(codes.raw, x.raw)});
#else
  // Portable (NEON, and SSSE3/SSE4, which pre-2013 x86 machines run: there it is tested on any x86
  // CPU): even and odd bytes widened to 16 bits (zero- and sign-extended), multiplied, summed.
  const DI16 d;
  const auto c = hn::BitCast(d, codes), xs = hn::BitCast(d, x);
  const auto even = hn::Mul(hn::And(c, hn::Set(d, 0xFF)), hn::ShiftRight<8>(hn::ShiftLeft<8>(xs)));
  const auto odd = hn::Mul(hn::BitCast(d, hn::ShiftRight<8>(hn::BitCast(D16(), c))), hn::ShiftRight<8>(xs));
  return hn::Add(acc, hn::Add(even, odd));
#endif
}
HWY_INLINE hn::Vec<DI32> DotSum(DotAcc acc) {
  const DI32 d;
  auto odd = hn::Zero(d);
  const auto even = hn::ReorderWidenMulAccumulate(d, acc, hn::Set(DI16(), 1), hn::Zero(d), odd);
  return hn::RearrangeToOddPlusEven(even, odd);
}
#endif

// One row's planes for the u16 lanes [lane0, lane0 + N) of a chunk.
struct Planes {
  HWY_INLINE Planes() : lo(hn::Zero(D16())), hi(hn::Zero(D16())) {}  // defined here: gets the target's attributes
  V16 lo, hi;
};

template <int BITS>
HWY_INLINE Planes LoadPlanes(const uint8_t* HWY_RESTRICT chunk, size_t lane0) {
  const D16 d;
  Planes p;
  if constexpr (BITS >= 2) p.lo = hn::LoadU(d, reinterpret_cast<const uint16_t*>(chunk) + lane0);
  if constexpr (BITS == 4) p.hi = hn::LoadU(d, reinterpret_cast<const uint16_t*>(chunk + 32) + lane0);
  if constexpr (BITS % 2 == 1) {
    // Byte h of the bit plane holds slots 0–7 of u16 lane h; the lane's low byte steps through
    // slots 0–3, its high byte through 4–7: bits 4–7 are copied to bits 8–11.
    const hn::Rebind<uint8_t, D16> d_half;
    const V16 top = hn::PromoteTo(d, hn::LoadU(d_half, chunk + (BITS / 2) * 32 + lane0));
    p.hi = hn::Or(top, hn::And(hn::ShiftLeft<4>(top), hn::Set(d, 0x0F00)));
  }
  return p;
}

// The codes of step K, one per byte: the low byte of u16 lane h holds slot K, the high byte slot
// K + 4 (16-bit shifts; the masks drop what crosses between the two bytes).
template <int BITS, int K>
HWY_INLINE hn::Vec<D8> Step(const Planes& p) {
  const D16 d;
  V16 code;
  if constexpr (BITS == 1) {
    code = hn::And(hn::ShiftRight<K>(p.hi), hn::Set(d, 0x0101));
  } else {
    const V16 lo = hn::And(hn::ShiftRight<2 * K>(p.lo), hn::Set(d, 0x0303));
    if constexpr (BITS == 2) code = lo;
    if constexpr (BITS == 3) {  // the bit plane's bit K (and K + 4) moved to bit 2 (and 10)
      V16 top;
      if constexpr (K < 2) top = hn::ShiftLeft<2 - K>(p.hi);
      else top = hn::ShiftRight<K - 2>(p.hi);
      code = hn::Or(lo, hn::And(top, hn::Set(d, 0x0404)));
    }
    if constexpr (BITS == 4) {  // the high plane's bits [2K, 2K + 2) moved to bits 2–3
      V16 hi;
      if constexpr (K == 0) hi = hn::ShiftLeft<2>(p.hi);
      else hi = hn::ShiftRight<2 * K - 2>(p.hi);
      code = hn::Or(lo, hn::And(hi, hn::Set(d, 0x0C0C)));
    }
  }
  return hn::BitCast(D8(), code);
}

// Weight scales for the 32-bit lanes [l0, l0 + N): lane l belongs to sub-block l & 3.
HWY_INLINE hn::Vec<DF> SubBlockScales(const float* HWY_RESTRICT row_scale, const InterleavedChunk& ch, size_t l0) {
  const DF df;
  if (ch.one_group) return hn::Set(df, row_scale[ch.group[0]]);
  HWY_ALIGN float s[8];
  for (size_t i = 0; i < hn::Lanes(df); ++i) s[i] = row_scale[ch.group[(l0 + i) & 3]];
  return hn::Load(df, s);
}

template <int BITS, int R>
HWY_INLINE void Chunk(const InterleavedWeights::View& v, int64_t c, const int8_t* HWY_RESTRICT xq,
                      const float* HWY_RESTRICT xs, int64_t r0, int64_t ahead, hn::Vec<DF> (&acc)[R]) {
  const D16 d16;
  const DI8 di8;
  const DF df;
  const InterleavedChunk& ch = v.chunks[c];
  // The R rows lie in one tile (GemvInterleaved aligns them): their planes are one block.
  constexpr int kBytes = R * plane_bytes(BITS);
  const uint8_t* block = v.chunk_codes(r0, ch);
  const uint8_t* block_ahead = v.chunk_codes(ahead, ch);
  for (int i = 0; i < kBytes; i += 64) __builtin_prefetch(block_ahead + i, 0, 1);
  for (size_t lane0 = 0; lane0 < 16; lane0 += hn::Lanes(d16)) {
    Planes p[R];
    DotAcc dot[R];
    for (int r = 0; r < R; ++r) {
      p[r] = LoadPlanes<BITS>(block + r * plane_bytes(BITS), lane0);
      dot[r] = hn::Zero(hn::DFromV<DotAcc>());
    }
    const int8_t* x = xq + c * kChunkCols + 2 * int64_t(lane0);
    [&]<int... K>(std::integer_sequence<int, K...>) {
      (
          [&] {
            const auto xk = hn::LoadU(di8, x + K * 32);
            for (int r = 0; r < R; ++r) dot[r] = DotStep(dot[r], Step<BITS, K>(p[r]), xk);
          }(),
          ...);
    }(std::make_integer_sequence<int, 4>{});
    // 32-bit lane l covers u16 lanes 2l and 2l + 1: sub-block l & 3.
    const auto x_scale = hn::LoadU(df, xs + c * 8 + int64_t(lane0 / 2));
    for (int r = 0; r < R; ++r) {
      const auto f = hn::Mul(hn::ConvertTo(df, DotSum(dot[r])), x_scale);
      acc[r] = hn::MulAdd(f, SubBlockScales(v.scale + (r0 + r) * v.groups, ch, lane0 / 2), acc[r]);
    }
  }
}

// A row's result: its accumulator's lanes plus Σ_g offset_g · group_sum_g, the offsets summed in
// the same vector lanes first so that the row pays one horizontal sum (a scalar loop in group order
// was an in-order chain of adds per row: a fifth of the kernel's time at 32 groups).
HWY_INLINE float RowSum(hn::Vec<DF> acc, const float* HWY_RESTRICT offset, const float* HWY_RESTRICT group_sum,
                        int64_t groups) {
  const DF df;
  const int64_t n = int64_t(hn::Lanes(df));
  int64_t g = 0;
  for (; g + n <= groups; g += n) acc = hn::MulAdd(hn::LoadU(df, offset + g), hn::LoadU(df, group_sum + g), acc);
  float tail = 0;
  for (; g < groups; ++g) tail += offset[g] * group_sum[g];
  return hn::GetLane(hn::SumOfLanes(df, acc)) + tail;
}

template <int R>
HWY_INLINE void Rows(const InterleavedWeights::View& v, const int8_t* HWY_RESTRICT xq, const float* HWY_RESTRICT xs,
                     const float* HWY_RESTRICT group_sum, float* HWY_RESTRICT y, int64_t r0) {
  const DF df;
  hn::Vec<DF> acc[R];
  for (int r = 0; r < R; ++r) acc[r] = hn::Zero(df);
  // Each chunk prefetches (into L2: prefetcht2 kept more lines in flight than prefetcht0 on Zen 4)
  // the same chunk of the rows at least 8 KiB further on, clamped to the matrix's last block
  // (read by then, so cached).
  const int64_t row_bytes = v.tile_bytes / kTileRows;
  const int64_t ahead = std::min(r0 + R * std::max<int64_t>(1, (8192 + R * row_bytes - 1) / (R * row_bytes)),
                                 (v.rows - 1) / R * R);
  for (int64_t i = 0; i < R * v.groups; i += 16) {  // 16 floats per 64-byte line
    __builtin_prefetch(v.scale + ahead * v.groups + i, 0, 1);
    __builtin_prefetch(v.offset + ahead * v.groups + i, 0, 1);
  }
  for (int64_t c = 0; c < v.n_chunks; ++c) {
    switch (v.chunks[c].bits) {  // constant over runs of chunks: predicted
      case 1: Chunk<1, R>(v, c, xq, xs, r0, ahead, acc); break;
      case 2: Chunk<2, R>(v, c, xq, xs, r0, ahead, acc); break;
      case 3: Chunk<3, R>(v, c, xq, xs, r0, ahead, acc); break;
      default: Chunk<4, R>(v, c, xq, xs, r0, ahead, acc); break;
    }
  }
  for (int r = 0; r < R; ++r) y[r0 + r] = RowSum(acc[r], v.offset + (r0 + r) * v.groups, group_sum, v.groups);
}

// Rows sharing each activation load: eight with AVX-512's 32 registers (~8 % faster than four on
// Zen 4), four elsewhere (16 registers on SSE/AVX2). Each row's arithmetic is the same either way.
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
constexpr int kRowsAtOnce = 8;
#else
constexpr int kRowsAtOnce = 4;
#endif

void GemvInterleaved(const InterleavedWeights::View& v, const QuantizedActivations& a, float* HWY_RESTRICT y,
                     int64_t row_begin, int64_t row_end) {
  const int8_t* xq = a.q.data();
  const float *xs = a.scale.data(), *group_sum = a.group_sum.data();
  int64_t r = row_begin;
  // Blocks of kRowsAtOnce rows start at multiples of it, so each lies within one tile of 8.
  for (; r < row_end && r % kRowsAtOnce; ++r) Rows<1>(v, xq, xs, group_sum, y, r);
  for (; r + kRowsAtOnce <= row_end; r += kRowsAtOnce) Rows<kRowsAtOnce>(v, xq, xs, group_sum, y, r);
  for (; r < row_end; ++r) Rows<1>(v, xq, xs, group_sum, y, r);
}

#endif  // HWY_TARGET == HWY_SCALAR

}  // namespace HWY_NAMESPACE
}  // namespace mixq::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace mixq::kernels {

HWY_EXPORT(GemvInterleaved);

void InterleavedWeights::gemv(const QuantizedActivations& a, float* y, int64_t row_begin, int64_t row_end) const {
  HWY_DYNAMIC_DISPATCH(GemvInterleaved)(view(), a, y, row_begin, row_end);
}

}  // namespace mixq::kernels
#endif  // HWY_ONCE
