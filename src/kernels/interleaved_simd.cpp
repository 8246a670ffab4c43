// The interleaved layout's GEMV with Google Highway's runtime dispatch (compiled once per SIMD
// target through foreach_target.h). Per chunk and row: four steps, each decoding 32 codes into
// bytes with a shift and a mask (and an OR for 3-/4-bit) and multiplying them with 32 int8
// activations, four bytes summed into each 32-bit lane (exact integers); then one fp32 multiply
// by the activation scale and one fused multiply-add by the weight scale. Four or eight rows
// share every activation load; on AVX-512 one 512-bit vector holds the same plane of two rows.
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
// A block of R rows (R divides 8: they lie in one tile) holds each plane of its rows back to back:
// R·16 u16 lanes of low-plane bits, of high-plane bits, R·16 bytes of bit plane. The kernel walks
// them with vectors of N u16 lanes over all its rows at once: N = 32 (AVX-512: two rows per
// vector), 16 (AVX2: one row), 8 (SSE4/NEON: half a row). Vector i covers u16 lanes
// [i·N, i·N + N) of the block, i.e. row i·N / 16 from lane i·N % 16 on.
template <class D16>
struct Tags {
  using D8 = hn::Repartition<uint8_t, D16>;
  using DI8 = hn::Repartition<int8_t, D16>;
  using DI16 = hn::RebindToSigned<D16>;
  using DI32 = hn::Repartition<int32_t, D16>;
  using DF = hn::Repartition<float, D16>;
  static constexpr int kLanes = int(hn::MaxLanes(D16()));
  static_assert(kLanes == 8 || kLanes == 16 || kLanes == 32);
};

// The byte dot product of one vector over the four steps: Σ code (u8, ≤ 15) × activation (s8),
// four adjacent bytes summed into each 32-bit lane. DotStep adds one step, DotSum gives the lanes.
#if HWY_TARGET == HWY_AVX3_DL
template <class D16>
using DotAcc = hn::Vec<typename Tags<D16>::DI32>;
template <class V8, class VI8, class Acc>
HWY_INLINE Acc DotStep(Acc acc, V8 codes, VI8 x) {
  if constexpr (sizeof(codes.raw) == 64) {
    // Inline asm too: Highway 1.0's AVX3_DL target string lacks avx512vnni, so GCC refuses the
    // intrinsic there (the 512-bit form has only the EVEX encoding).
    __m512i sum = acc.raw;
    asm("vpdpbusd %2, %1, %0" : "+v"(sum) : "v"(codes.raw), "v"(x.raw));
    return Acc{sum};
  } else {
    // Not _mm256_dpbusd_epi32: Highway 1.0's AVX3_DL target string also enables AVX-VNNI, which
    // its runtime check does not test, and GCC then emits the VEX encoding of vpdpbusd — an
    // illegal instruction on AVX-512 VNNI machines without AVX-VNNI (Zen 4, Ice Lake). The asm
    // pins the EVEX encoding, which AVX3_DL's check does guarantee.
    __m256i sum = acc.raw;
    asm("%{evex%} vpdpbusd %2, %1, %0" : "+v"(sum) : "v"(codes.raw), "v"(x.raw));
    return Acc{sum};
  }
}
template <class D16>
HWY_INLINE hn::Vec<typename Tags<D16>::DI32> DotSum(DotAcc<D16> acc) { return acc; }
#else
// Pair sums in 16 bits: at most 4 steps · 2 · 15 · 127 = 15 240, no overflow (nor saturation).
template <class D16>
using DotAcc = hn::Vec<typename Tags<D16>::DI16>;
template <class V8, class VI8, class Acc>
HWY_INLINE Acc DotStep(Acc acc, V8 codes, VI8 x) {
#if HWY_TARGET == HWY_AVX3
  if constexpr (sizeof(codes.raw) == 64) return hn::Add(acc, Acc{_mm512_maddubs_epi16(codes.raw, x.raw)});
#endif
#if HWY_TARGET == HWY_AVX2 || HWY_TARGET == HWY_AVX3
  if constexpr (sizeof(codes.raw) == 32) return hn::Add(acc, Acc{_mm256_maddubs_epi16(codes.raw, x.raw)});
#endif
  // Portable (NEON, and SSSE3/SSE4, which pre-2013 x86 machines run: there it is tested on any x86
  // CPU): even and odd bytes widened to 16 bits (zero- and sign-extended), multiplied, summed.
  const hn::DFromV<Acc> d;
  const auto c = hn::BitCast(d, codes), xs = hn::BitCast(d, x);
  const auto even = hn::Mul(hn::And(c, hn::Set(d, 0xFF)), hn::ShiftRight<8>(hn::ShiftLeft<8>(xs)));
  const auto odd = hn::Mul(hn::BitCast(d, hn::ShiftRight<8>(hn::BitCast(hn::RebindToUnsigned<hn::DFromV<Acc>>(), c))),
                           hn::ShiftRight<8>(xs));
  return hn::Add(acc, hn::Add(even, odd));
}
template <class D16>
HWY_INLINE hn::Vec<typename Tags<D16>::DI32> DotSum(DotAcc<D16> acc) {
  const typename Tags<D16>::DI32 d;
  auto odd = hn::Zero(d);
  const auto even = hn::ReorderWidenMulAccumulate(d, acc, hn::Set(typename Tags<D16>::DI16(), 1), hn::Zero(d), odd);
  return hn::RearrangeToOddPlusEven(even, odd);
}
#endif

// One vector's planes.
template <class D16>
struct Planes {
  HWY_INLINE Planes() : lo(hn::Zero(D16())), hi(hn::Zero(D16())) {}  // defined here: gets the target's attributes
  hn::Vec<D16> lo, hi;
};

// The planes of u16 lanes [lane, lane + N) of the rows from first_row (of its tile) on in a block.
template <int BITS, class D16>
HWY_INLINE Planes<D16> LoadPlanes(const uint8_t* HWY_RESTRICT block, int first_row, size_t lane) {
  const D16 d;
  const auto at = plane_offsets(BITS, first_row);
  Planes<D16> p;
  if constexpr (BITS >= 2) p.lo = hn::LoadU(d, reinterpret_cast<const uint16_t*>(block + at.lo) + lane);
  if constexpr (BITS == 4) p.hi = hn::LoadU(d, reinterpret_cast<const uint16_t*>(block + at.hi) + lane);
  if constexpr (BITS % 2 == 1) {
    // Byte h of a row's bit plane holds slots 0–7 of u16 lane h; the lane's low byte steps through
    // slots 0–3, its high byte through 4–7: bits 4–7 are copied to bits 8–11.
    const hn::Rebind<uint8_t, D16> d_half;
    const auto top = hn::PromoteTo(d, hn::LoadU(d_half, block + at.bit + lane));
    p.hi = hn::Or(top, hn::And(hn::ShiftLeft<4>(top), hn::Set(d, 0x0F00)));
  }
  return p;
}

// The codes of step K, one per byte: the low byte of u16 lane h holds slot K, the high byte slot
// K + 4 (16-bit shifts; the masks drop what crosses between the two bytes).
template <int BITS, int K, class D16>
HWY_INLINE hn::Vec<typename Tags<D16>::D8> Step(const Planes<D16>& p) {
  const D16 d;
  hn::Vec<D16> code;
  if constexpr (BITS == 1) {
    code = hn::And(hn::ShiftRight<K>(p.hi), hn::Set(d, 0x0101));
  } else {
    const auto lo = hn::And(hn::ShiftRight<2 * K>(p.lo), hn::Set(d, 0x0303));
    if constexpr (BITS == 2) code = lo;
    if constexpr (BITS == 3) {  // the bit plane's bit K (and K + 4) moved to bit 2 (and 10)
      hn::Vec<D16> top;
      if constexpr (K < 2) top = hn::ShiftLeft<2 - K>(p.hi);
      else top = hn::ShiftRight<K - 2>(p.hi);
      code = hn::Or(lo, hn::And(top, hn::Set(d, 0x0404)));
    }
    if constexpr (BITS == 4) {  // the high plane's bits [2K, 2K + 2) moved to bits 2–3
      hn::Vec<D16> hi;
      if constexpr (K == 0) hi = hn::ShiftLeft<2>(p.hi);
      else hi = hn::ShiftRight<2 * K - 2>(p.hi);
      code = hn::Or(lo, hn::And(hi, hn::Set(d, 0x0C0C)));
    }
  }
  return hn::BitCast(typename Tags<D16>::D8(), code);
}

// A vector built from 8-lane pieces, piece(tag, first 32-bit lane within a row's 8, row): what
// x's bytes, x's scales and the weight scales are per vector (a row has 8 32-bit lanes; a 512-bit
// vector holds two rows, a 128-bit one half a row).
template <class D, class F>
HWY_INLINE hn::Vec<D> PerRow(D d, size_t lane32, int row, F piece) {
  if constexpr (hn::MaxLanes(D()) * sizeof(hn::TFromD<D>) == 64) {
    const hn::Half<D> dh;
    return hn::Combine(d, piece(dh, 0, row + 1), piece(dh, 0, row));
  } else {
    return piece(d, lane32, row);
  }
}

// Weight scales for 32-bit lanes [l0, l0 + n) of a row: lane l belongs to sub-block l & 3.
template <class DF>
HWY_INLINE hn::Vec<DF> SubBlockScales(DF df, const float* HWY_RESTRICT row_scale, const InterleavedChunk& ch, size_t l0) {
  if (ch.one_group) return hn::Set(df, row_scale[ch.group[0]]);
  HWY_ALIGN float s[8];
  for (size_t i = 0; i < hn::Lanes(df); ++i) s[i] = row_scale[ch.group[(l0 + i) & 3]];
  return hn::Load(df, s);
}

// One chunk of rows [r0, r0 + R): acc[i] gains vector i's 32-bit lanes.
template <int BITS, int R, class D16>
HWY_INLINE void Chunk(const InterleavedWeights::View& v, int64_t c, const int8_t* HWY_RESTRICT xq,
                      const float* HWY_RESTRICT xs, int64_t r0, int64_t ahead,
                      hn::Vec<typename Tags<D16>::DF> (&acc)[R * 16 / Tags<D16>::kLanes]) {
  using T = Tags<D16>;
  constexpr int N = T::kLanes, V = R * 16 / N;
  const typename T::DI8 di8;
  const typename T::DF df;
  const InterleavedChunk& ch = v.chunks[c];
  const uint8_t* block = v.block(r0, ch);
  const int row0 = int(r0 % kTileRows);
  {  // the same chunk's planes of the rows `ahead`
    const uint8_t* b = v.block(ahead, ch);
    const auto at = plane_offsets(BITS, int(ahead % kTileRows));
    if constexpr (BITS >= 2)
      for (int i = 0; i < 32 * R; i += 64) __builtin_prefetch(b + at.lo + i, 0, 1);
    if constexpr (BITS == 4)
      for (int i = 0; i < 32 * R; i += 64) __builtin_prefetch(b + at.hi + i, 0, 1);
    if constexpr (BITS % 2)
      for (int i = 0; i < 16 * R; i += 64) __builtin_prefetch(b + at.bit + i, 0, 1);
  }
  Planes<D16> p[V];
  DotAcc<D16> dot[V];
  for (int i = 0; i < V; ++i) {
    p[i] = LoadPlanes<BITS, D16>(block, row0, size_t(i * N));
    dot[i] = hn::Zero(hn::DFromV<DotAcc<D16>>());
  }
  // Vectors narrower than a row see X = 16 / N different pieces of x, wider ones x twice.
  constexpr int X = N < 16 ? 16 / N : 1;
  const int8_t* x = xq + c * kChunkCols;
  [&]<int... K>(std::integer_sequence<int, K...>) {
    (
        [&] {
          hn::Vec<typename T::DI8> xk[X];
          for (int j = 0; j < X; ++j)
            xk[j] = PerRow(di8, size_t(j * N / 2), 0, [&](auto d, size_t l32, int) { return hn::LoadU(d, x + K * 32 + 4 * l32); });
          for (int i = 0; i < V; ++i) dot[i] = DotStep(dot[i], Step<BITS, K>(p[i]), xk[i % X]);
        }(),
        ...);
  }(std::make_integer_sequence<int, 4>{});
  for (int i = 0; i < V; ++i) {
    const size_t l32 = size_t(i * N / 2 % 8);
    const int row = i * N / 16;
    const auto x_scale = PerRow(df, l32, 0, [&](auto d, size_t l, int) { return hn::LoadU(d, xs + c * 8 + int64_t(l)); });
    const auto w_scale = PerRow(df, l32, row, [&](auto d, size_t l, int r) {
      return SubBlockScales(d, v.scale + (r0 + r) * v.groups, ch, l);
    });
    acc[i] = hn::MulAdd(hn::Mul(hn::ConvertTo(df, DotSum<D16>(dot[i])), x_scale), w_scale, acc[i]);
  }
}

// A row's result from its 8 lane sums, plus Σ_g offset_g · group_sum_g, the offsets summed in the
// same vector lanes first so that the row pays one horizontal sum (a scalar loop in group order was
// an in-order chain of adds per row: a fifth of the kernel's time at 32 groups). The same code
// whatever the vectors that made the lane sums: each row's arithmetic is the same for any R.
HWY_INLINE float RowSum(const float* HWY_RESTRICT lanes, const float* HWY_RESTRICT offset,
                        const float* HWY_RESTRICT group_sum, int64_t groups) {
  const hn::CappedTag<float, 8> df;
  const int64_t n = int64_t(hn::Lanes(df));
  auto acc = hn::Load(df, lanes);
  for (int64_t i = n; i < 8; i += n) acc = hn::Add(acc, hn::Load(df, lanes + i));
  int64_t g = 0;
  for (; g + n <= groups; g += n) acc = hn::MulAdd(hn::LoadU(df, offset + g), hn::LoadU(df, group_sum + g), acc);
  float tail = 0;
  for (; g < groups; ++g) tail += offset[g] * group_sum[g];
  return hn::GetLane(hn::SumOfLanes(df, acc)) + tail;
}

// Rows [r0, r0 + R), R dividing 8 and r0 a multiple of R, with vectors of D16.
template <int R, class D16>
HWY_INLINE void Rows(const InterleavedWeights::View& v, const int8_t* HWY_RESTRICT xq, const float* HWY_RESTRICT xs,
                     const float* HWY_RESTRICT group_sum, float* HWY_RESTRICT y, int64_t r0) {
  using T = Tags<D16>;
  constexpr int V = R * 16 / T::kLanes;
  static_assert(V >= 1 && R * 16 % T::kLanes == 0);
  const typename T::DF df;
  hn::Vec<typename T::DF> acc[V];
  for (int i = 0; i < V; ++i) acc[i] = hn::Zero(df);
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
      case 1: Chunk<1, R, D16>(v, c, xq, xs, r0, ahead, acc); break;
      case 2: Chunk<2, R, D16>(v, c, xq, xs, r0, ahead, acc); break;
      case 3: Chunk<3, R, D16>(v, c, xq, xs, r0, ahead, acc); break;
      default: Chunk<4, R, D16>(v, c, xq, xs, r0, ahead, acc); break;
    }
  }
  HWY_ALIGN float lanes[8 * R];  // vector i's lanes are the rows' 32-bit lanes [i·N/2, (i+1)·N/2)
  for (int i = 0; i < V; ++i) hn::Store(acc[i], df, lanes + i * T::kLanes / 2);
  for (int r = 0; r < R; ++r) y[r0 + r] = RowSum(lanes + 8 * r, v.offset + (r0 + r) * v.groups, group_sum, v.groups);
}

// Rows sharing each activation load: eight (four 512-bit vectors) with AVX-512's 32 registers,
// four elsewhere (16 registers on SSE/AVX2). A single row takes vectors of at most 16 lanes.
#if HWY_TARGET == HWY_AVX3 || HWY_TARGET == HWY_AVX3_DL
constexpr int kRowsAtOnce = 8;
#else
constexpr int kRowsAtOnce = 4;
#endif
using DBlock = hn::ScalableTag<uint16_t>;
using DRow = hn::CappedTag<uint16_t, 16>;

void GemvInterleaved(const InterleavedWeights::View& v, const QuantizedActivations& a, float* HWY_RESTRICT y,
                     int64_t row_begin, int64_t row_end) {
  const int8_t* xq = a.q.data();
  const float *xs = a.scale.data(), *group_sum = a.group_sum.data();
  int64_t r = row_begin;
  // Blocks of kRowsAtOnce rows start at multiples of it, so each lies within one tile of 8.
  for (; r < row_end && r % kRowsAtOnce; ++r) Rows<1, DRow>(v, xq, xs, group_sum, y, r);
  for (; r + kRowsAtOnce <= row_end; r += kRowsAtOnce) Rows<kRowsAtOnce, DBlock>(v, xq, xs, group_sum, y, r);
  for (; r < row_end; ++r) Rows<1, DRow>(v, xq, xs, group_sum, y, r);
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
