// The interleaved layout's GEMV with Google Highway's runtime dispatch (compiled once per SIMD
// target through foreach_target.h). Per chunk and row: decode each slot's codes with a shift and a
// mask (and an OR for 3-/4-bit), multiply-add them pairwise with the int16 activations into int32
// lanes (exact), then one fp32 multiply by the activation scale and one fused multiply-add by the
// weight scale. Four rows share every activation load.
// AVX3_DL (AVX-512 with VNNI: Ice Lake, Zen 4) is opt-in in Highway 1.0: its vpdpwssd fuses the
// 16-bit multiply-add with the accumulation.
#define HWY_WANT_AVX3_DL
// The kernel keeps vectors in small arrays (four rows at a time), which sizeless SVE/RVV vectors
// cannot be; ARM machines with SVE run the NEON target.
#define HWY_DISABLED_TARGETS (HWY_SVE | HWY_SVE2 | HWY_SVE_256 | HWY_SVE2_128 | HWY_RVV)
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/interleaved_simd.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <utility>

#include "mixq/kernels/interleaved.hpp"

HWY_BEFORE_NAMESPACE();
namespace mixq::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Up to 16 u16 lanes: one chunk row per vector on 256-bit targets, two halves on 128-bit ones.
using D16 = hn::CappedTag<uint16_t, 16>;
using DI16 = hn::RebindToSigned<D16>;
using DI32 = hn::Repartition<int32_t, D16>;
using DF = hn::Repartition<float, D16>;
using V16 = hn::Vec<D16>;

// sum0 += pairwise products of a and b (16 → 32 bits), exactly.
HWY_INLINE hn::Vec<DI32> MulAddPairs(hn::Vec<DI16> a, hn::Vec<DI16> b, hn::Vec<DI32> sum0, hn::Vec<DI32>& sum1) {
#if HWY_TARGET == HWY_AVX3_DL
  if constexpr (hn::MaxLanes(DI16()) == 16) {
    // Not _mm256_dpwssd_epi32: Highway 1.0's AVX3_DL target string also enables AVX-VNNI, which
    // its runtime check does not test, and GCC then emits the VEX encoding of vpdpwssd — an
    // illegal instruction on AVX-512 VNNI machines without AVX-VNNI (Zen 4, Ice Lake). The asm
    // pins the EVEX encoding, which AVX3_DL's check does guarantee.
    __m256i acc = sum0.raw;
    asm("%{evex%} vpdpwssd %2, %1, %0" : "+v"(acc) : "v"(a.raw), "v"(b.raw));
    return hn::Vec<DI32>{acc};
  }
#endif
  return hn::ReorderWidenMulAccumulate(DI32(), a, b, sum0, sum1);
}

// One row's planes for the lanes [lane0, lane0 + N) of a chunk.
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
    const hn::Rebind<uint8_t, D16> d8;
    const V16 top = hn::PromoteTo(d, hn::LoadU(d8, chunk + (BITS / 2) * 32 + lane0));
    p.hi = BITS == 3 ? hn::ShiftLeft<2>(top) : top;  // 3-bit: the top bit lands on bit 2
  }
  return p;
}

// The codes of slot K.
template <int BITS, int K>
HWY_INLINE V16 Slot(const Planes& p) {
  const D16 d;
  if constexpr (BITS == 1) return hn::And(hn::ShiftRight<K>(p.hi), hn::Set(d, 1));
  const V16 lo = hn::And(hn::ShiftRight<2 * K>(p.lo), hn::Set(d, 3));
  if constexpr (BITS == 2) return lo;
  if constexpr (BITS == 3) return hn::Or(lo, hn::And(hn::ShiftRight<K>(p.hi), hn::Set(d, 4)));
  if constexpr (BITS == 4) {  // the high plane's bits [2K, 2K + 2) moved to bits 2–3
    if constexpr (K == 0) return hn::Or(lo, hn::And(hn::ShiftLeft<2>(p.hi), hn::Set(d, 12)));
    else return hn::Or(lo, hn::And(hn::ShiftRight<2 * K - 2>(p.hi), hn::Set(d, 12)));
  }
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
HWY_INLINE void Chunk(const InterleavedWeights::View& v, int64_t c, const int16_t* HWY_RESTRICT xq,
                      const float* HWY_RESTRICT xs, int64_t r0, hn::Vec<DF> (&acc)[R]) {
  const D16 d16;
  const DI16 di16;
  const DI32 di32;
  const DF df;
  const InterleavedChunk& ch = v.chunks[c];
  for (size_t lane0 = 0; lane0 < 16; lane0 += hn::Lanes(d16)) {
    Planes p[R];
    hn::Vec<DI32> sum0[R], sum1[R];
    for (int r = 0; r < R; ++r) {
      p[r] = LoadPlanes<BITS>(v.codes + (r0 + r) * v.row_bytes + ch.byte_offset, lane0);
      sum0[r] = hn::Zero(di32);
      sum1[r] = hn::Zero(di32);
    }
    const int16_t* x = xq + c * kChunkCols + int64_t(lane0);
    [&]<int... K>(std::integer_sequence<int, K...>) {
      (
          [&] {
            const auto xk = hn::LoadU(di16, x + K * 16);
            for (int r = 0; r < R; ++r)
              sum0[r] = MulAddPairs(hn::BitCast(di16, Slot<BITS, K>(p[r])), xk, sum0[r], sum1[r]);
          }(),
          ...);
    }(std::make_integer_sequence<int, 8>{});
    const auto x_scale = hn::LoadU(df, xs + c * 8 + int64_t(lane0 / 2));
    for (int r = 0; r < R; ++r) {
      const auto f = hn::Mul(hn::ConvertTo(df, hn::RearrangeToOddPlusEven(sum0[r], sum1[r])), x_scale);
      acc[r] = hn::MulAdd(f, SubBlockScales(v.scale + (r0 + r) * v.groups, ch, lane0 / 2), acc[r]);
    }
  }
}

template <int R>
HWY_INLINE void Rows(const InterleavedWeights::View& v, const int16_t* HWY_RESTRICT xq, const float* HWY_RESTRICT xs,
                     const float* HWY_RESTRICT group_sum, float* HWY_RESTRICT y, int64_t r0) {
  const DF df;
  hn::Vec<DF> acc[R];
  for (int r = 0; r < R; ++r) acc[r] = hn::Zero(df);
  for (int64_t c = 0; c < v.n_chunks; ++c) {
    switch (v.chunks[c].bits) {  // constant over runs of chunks: predicted
      case 1: Chunk<1, R>(v, c, xq, xs, r0, acc); break;
      case 2: Chunk<2, R>(v, c, xq, xs, r0, acc); break;
      case 3: Chunk<3, R>(v, c, xq, xs, r0, acc); break;
      default: Chunk<4, R>(v, c, xq, xs, r0, acc); break;
    }
  }
  for (int r = 0; r < R; ++r)
    y[r0 + r] = hn::GetLane(hn::SumOfLanes(df, acc[r])) + offset_term(v.offset + (r0 + r) * v.groups, group_sum, v.groups);
}

void GemvInterleaved(const InterleavedWeights::View& v, const QuantizedActivations& a, float* HWY_RESTRICT y,
                     int64_t row_begin, int64_t row_end) {
  const int16_t* xq = a.q.data();
  const float *xs = a.scale.data(), *group_sum = a.group_sum.data();
  int64_t r = row_begin;
  for (; r + 4 <= row_end; r += 4) Rows<4>(v, xq, xs, group_sum, y, r);
  for (; r < row_end; ++r) Rows<1>(v, xq, xs, group_sum, y, r);
}

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
