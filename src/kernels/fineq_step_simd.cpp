// fineq_best_mode_error with Google Highway's runtime dispatch, bit-identical to the reference
// (kernels/fineq_step.hpp): L clusters at a time, deinterleaved so that lane j holds cluster j's
// three weights. Each weight is rounded onto both grids once; the four modes' errors are the
// reference's sums of those terms in the reference's order, and the smallest is kept (a minimum
// is the same value whichever equal mode the reference picks). lround is rebuilt exactly: the
// truncation, plus one away from zero when the dropped fraction (exact: t − trunc(t) loses no
// bits) is at least one half. Clusters past the last whole vector go through the reference, one
// at a time, their errors continuing the same sum.
// Compiled without floating-point contraction (CMakeLists.txt).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/fineq_step_simd.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <vector>

#include "mixq/kernels/fineq_step.hpp"

HWY_BEFORE_NAMESPACE();
namespace mixq::kernels {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

template <class D, class V = hn::Vec<D>>
V RoundHalfAway(D d, V t) {
  const V r = hn::Trunc(t);
  const V away = hn::CopySign(hn::Set(d, 1.f), t);
  return hn::Add(r, hn::IfThenElseZero(hn::Ge(hn::Abs(hn::Sub(t, r)), hn::Set(d, 0.5f)), away));
}

// One weight's terms: its error on the INT2 and on the INT3 grid, and pruned. (Out-parameters, not
// a struct: SVE vectors cannot be members.)
template <class D, class V = hn::Vec<D>>
void WeightTerms(D d, V w, V imp, bool weighted, float half, float inv, const formats::FineqGrids& g, V& int2, V& int3,
                 V& pruned) {
  const V x = hn::Mul(w, hn::Set(d, inv));
  auto term = [&](V value) {
    const V diff = hn::Sub(w, value);
    return weighted ? hn::Mul(hn::Mul(imp, diff), diff) : hn::Mul(diff, diff);
  };
  auto clamp = [&](V q, float lo, float hi) { return hn::Min(hn::Max(q, hn::Set(d, lo)), hn::Set(d, hi)); };
  const V q2 = clamp(RoundHalfAway(d, hn::Div(hn::Sub(x, hn::Set(d, float(g.int2_offset))), hn::Set(d, float(g.int2_unit)))), -2.f, 1.f);
  const V v2 = hn::Mul(hn::Add(hn::Mul(hn::Set(d, float(g.int2_unit)), q2), hn::Set(d, float(g.int2_offset))), hn::Set(d, half));
  const V q3 = clamp(RoundHalfAway(d, hn::Div(x, hn::Set(d, float(g.int3_unit)))), -4.f, 3.f);
  const V v3 = hn::Mul(hn::Mul(hn::Set(d, float(g.int3_unit)), q3), hn::Set(d, half));
  int2 = term(v2);
  int3 = term(v3);
  pruned = weighted ? hn::Mul(hn::Mul(imp, w), w) : hn::Mul(w, w);
}

float BestModeError(const float* v, int64_t n, float delta, const formats::FineqGrids& g, const float* importance) {
  const hn::ScalableTag<float> d;
  using V = hn::Vec<decltype(d)>;
  const int64_t L = int64_t(hn::Lanes(d));
  const float half = delta / 2;
  const float inv = half > 0 ? 1.f / half : 0.f;
  const bool weighted = importance != nullptr;
  thread_local std::vector<float> best;
  best.resize(size_t(L));
  const int64_t clusters = n / 3, whole = clusters / L * L;
  float total = 0;
  for (int64_t c = 0; c < whole; c += L) {
    V w0, w1, w2, i0 = hn::Zero(d), i1 = i0, i2 = i0;
    hn::LoadInterleaved3(d, v + 3 * c, w0, w1, w2);
    if (weighted) hn::LoadInterleaved3(d, importance + 3 * c, i0, i1, i2);
    V a2, a3, ap, b2, b3, bp, c2, c3, cp;  // weights 0, 1, 2 of each cluster: INT2, INT3, pruned
    WeightTerms(d, w0, i0, weighted, half, inv, g, a2, a3, ap);
    WeightTerms(d, w1, i1, weighted, half, inv, g, b2, b3, bp);
    WeightTerms(d, w2, i2, weighted, half, inv, g, c2, c3, cp);
    V e = hn::Add(hn::Add(a2, b2), c2);               // three INT2 codes
    e = hn::Min(e, hn::Add(hn::Add(ap, b3), c3));     // weight 0 pruned
    e = hn::Min(e, hn::Add(hn::Add(a3, bp), c3));     // weight 1 pruned
    e = hn::Min(e, hn::Add(hn::Add(a3, b3), cp));     // weight 2 pruned
    hn::StoreU(e, d, best.data());
    for (int64_t j = 0; j < L; ++j) total += best[size_t(j)];
  }
  for (int64_t c = whole; c < clusters; ++c)  // one cluster's sum is its own error: total continues in order
    total += fineq_best_mode_error_reference(v + 3 * c, 3, delta, g, weighted ? importance + 3 * c : nullptr);
  return total;
}

}  // namespace HWY_NAMESPACE
}  // namespace mixq::kernels
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace mixq::kernels {

HWY_EXPORT(BestModeError);

float fineq_best_mode_error(const float* v, int64_t n, float delta, const formats::FineqGrids& g, const float* importance) {
  return HWY_DYNAMIC_DISPATCH(BestModeError)(v, n, delta, g, importance);
}

}  // namespace mixq::kernels
#endif  // HWY_ONCE
