// One head's causal attention with Google Highway's runtime dispatch, bit-identical to
// attend_reference (kernels/attention.hpp). A tile of L queries (L = the vector's float lanes)
// runs together, query j in lane j: its q is transposed to head_size × L so that one broadcast
// key element multiplies all L queries; every lane then does the reference's operations in its
// order (even and odd products summed apart, then scaled; the softmax's running sum in position
// order; Σ p·v in position order). Positions a lane must not see (after its query, or before its
// sliding window) score −∞, so exp gives 0 and they add nothing, and their values are never
// multiplied in. exp is libm's, one lane at a time, as in the reference. Compiled without
// floating-point contraction (CMakeLists.txt): a fused multiply-add would round differently.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/attention_simd.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "mixq/kernels/attention.hpp"

HWY_BEFORE_NAMESPACE();
namespace mixq::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Queries [t0, t0 + nt), nt ≤ L; lanes past nt repeat the last query (their results are dropped).
void AttendTile(const HeadAttention& a, int t0, int nt, std::vector<float>& buf) {
  const hn::ScalableTag<float> d;
  using V = hn::Vec<decltype(d)>;
  const size_t L = hn::Lanes(d);
  const int hs = a.head_size;
  const int p_last = a.pos + t0 + nt - 1;
  const int s_lo = a.window > 0 ? std::max(0, a.pos + t0 - a.window + 1) : 0;
  const size_t ns = size_t(p_last - s_lo + 1);
  buf.resize((2 * size_t(hs) + ns + 3) * L);
  float* qt = buf.data();                 // [hs][L]: element i of each lane's query
  float* ot = qt + size_t(hs) * L;        // [hs][L]: the outputs, transposed
  float* sc = ot + size_t(hs) * L;        // [ns][L]: scores, then probabilities
  float* lane_pos = sc + ns * L;          // [L]: each lane's position
  float* lane_first = lane_pos + L;       // [L]: the first position it sees
  for (size_t j = 0; j < L; ++j) {
    const int t = t0 + std::min(int(j), nt - 1);
    const int p = a.pos + t;
    lane_pos[j] = float(p);
    lane_first[j] = float(a.window > 0 ? std::max(0, p - a.window + 1) : 0);
    const float* q = a.q + size_t(t) * a.q_stride;
    for (int i = 0; i < hs; ++i) qt[size_t(i) * L + j] = q[i];
  }
  const V vpos = hn::LoadU(d, lane_pos), vfirst = hn::LoadU(d, lane_first);
  const V scale = hn::Set(d, a.scale), neg_inf = hn::Set(d, -std::numeric_limits<float>::infinity());
  auto visible = [&](int s) {
    const V vs = hn::Set(d, float(s));
    return hn::And(hn::Le(vs, vpos), hn::Ge(vs, vfirst));
  };
  // Scores and each lane's maximum.
  V mx = neg_inf;
  for (int s = s_lo; s <= p_last; ++s) {
    const float* k = a.k + size_t(s) * a.kv_stride;
    V s0 = hn::Zero(d), s1 = hn::Zero(d);
    int i = 0;
    for (; i + 1 < hs; i += 2) {
      s0 = hn::Add(s0, hn::Mul(hn::LoadU(d, qt + size_t(i) * L), hn::Set(d, k[i])));
      s1 = hn::Add(s1, hn::Mul(hn::LoadU(d, qt + size_t(i + 1) * L), hn::Set(d, k[i + 1])));
    }
    if (i < hs) s0 = hn::Add(s0, hn::Mul(hn::LoadU(d, qt + size_t(i) * L), hn::Set(d, k[i])));
    const V score = hn::IfThenElse(visible(s), hn::Mul(hn::Add(s0, s1), scale), neg_inf);
    hn::StoreU(score, d, sc + size_t(s - s_lo) * L);
    mx = hn::Max(mx, score);
  }
  // exp(score − max) lane by lane through libm, the running sum in position order, then p = e / sum.
  V sum = hn::Zero(d);
  for (size_t r = 0; r < ns; ++r) {
    float* row = sc + r * L;
    hn::StoreU(hn::Sub(hn::LoadU(d, row), mx), d, row);
    for (size_t j = 0; j < L; ++j) row[j] = std::exp(row[j]);
    sum = hn::Add(sum, hn::LoadU(d, row));
  }
  for (size_t r = 0; r < ns; ++r) hn::StoreU(hn::Div(hn::LoadU(d, sc + r * L), sum), d, sc + r * L);
  // out = Σ p·v over the visible positions, in position order; four output elements at a time
  // stay in registers over all positions.
  int i = 0;
  for (; i + 4 <= hs; i += 4) {
    V o0 = hn::Zero(d), o1 = hn::Zero(d), o2 = hn::Zero(d), o3 = hn::Zero(d);
    for (int s = s_lo; s <= p_last; ++s) {
      const float* v = a.v + size_t(s) * a.kv_stride + i;
      const V p = hn::LoadU(d, sc + size_t(s - s_lo) * L);
      const auto m = visible(s);
      o0 = hn::Add(o0, hn::IfThenElseZero(m, hn::Mul(p, hn::Set(d, v[0]))));
      o1 = hn::Add(o1, hn::IfThenElseZero(m, hn::Mul(p, hn::Set(d, v[1]))));
      o2 = hn::Add(o2, hn::IfThenElseZero(m, hn::Mul(p, hn::Set(d, v[2]))));
      o3 = hn::Add(o3, hn::IfThenElseZero(m, hn::Mul(p, hn::Set(d, v[3]))));
    }
    hn::StoreU(o0, d, ot + size_t(i) * L);
    hn::StoreU(o1, d, ot + size_t(i + 1) * L);
    hn::StoreU(o2, d, ot + size_t(i + 2) * L);
    hn::StoreU(o3, d, ot + size_t(i + 3) * L);
  }
  for (; i < hs; ++i) {
    V o = hn::Zero(d);
    for (int s = s_lo; s <= p_last; ++s) {
      const V p = hn::LoadU(d, sc + size_t(s - s_lo) * L);
      o = hn::Add(o, hn::IfThenElseZero(visible(s), hn::Mul(p, hn::Set(d, a.v[size_t(s) * a.kv_stride + size_t(i)]))));
    }
    hn::StoreU(o, d, ot + size_t(i) * L);
  }
  for (int j = 0; j < nt; ++j) {
    float* out = a.out + size_t(t0 + j) * a.out_stride;
    for (int i = 0; i < hs; ++i) out[i] = ot[size_t(i) * L + size_t(j)];
  }
}

void Attend(const HeadAttention& a, int t_begin, int t_end) {
  const int L = int(hn::Lanes(hn::ScalableTag<float>()));
  thread_local std::vector<float> buf;
  for (int t = t_begin; t < t_end; t += L) AttendTile(a, t, std::min(L, t_end - t), buf);
}

}  // namespace HWY_NAMESPACE
}  // namespace mixq::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace mixq::kernels {

HWY_EXPORT(Attend);

void attend(const HeadAttention& a, int t_begin, int t_end) {
  // A single query (token-by-token decoding) would fill one lane of a tile: the reference is as
  // fast there, and gives the same bits.
  if (t_end - t_begin < 2) return attend_reference(a, t_begin, t_end);
  HWY_DYNAMIC_DISPATCH(Attend)(a, t_begin, t_end);
}

}  // namespace mixq::kernels
#endif  // HWY_ONCE
