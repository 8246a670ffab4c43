// The scalar reference of one head's causal attention (kernels/attention.hpp): the operations and
// their order that the SIMD kernel (attention_simd.cpp) reproduces lane by lane. Compiled without
// floating-point contraction (CMakeLists.txt) so that no compiler turns a multiply and an add
// into one fused rounding on some machines and not on others.
#include <algorithm>
#include <cmath>
#include <vector>

#include "mixq/kernels/attention.hpp"

namespace mixq::kernels {

void attend_reference(const HeadAttention& a, int t_begin, int t_end) {
  const int hs = a.head_size;
  thread_local std::vector<float> att;
  for (int t = t_begin; t < t_end; ++t) {
    const int p = a.pos + t;
    const int first = a.window > 0 ? std::max(0, p - a.window + 1) : 0;
    att.resize(size_t(p + 1));
    const float* q = a.q + size_t(t) * a.q_stride;
    for (int s = first; s <= p; ++s) {
      const float* k = a.k + size_t(s) * a.kv_stride;
      float s0 = 0.f, s1 = 0.f;
      int i = 0;
      for (; i + 1 < hs; i += 2) {
        s0 += q[i] * k[i];
        s1 += q[i + 1] * k[i + 1];
      }
      if (i < hs) s0 += q[i] * k[i];
      att[size_t(s)] = (s0 + s1) * a.scale;
    }
    const float mx = *std::max_element(att.begin() + first, att.begin() + p + 1);
    float sum = 0.f;
    for (int s = first; s <= p; ++s) {
      att[size_t(s)] = std::exp(att[size_t(s)] - mx);
      sum += att[size_t(s)];
    }
    for (int s = first; s <= p; ++s) att[size_t(s)] /= sum;
    float* out = a.out + size_t(t) * a.out_stride;
    std::fill(out, out + hs, 0.f);
    for (int s = first; s <= p; ++s) {
      const float w = att[size_t(s)];
      const float* v = a.v + size_t(s) * a.kv_stride;
      for (int i = 0; i < hs; ++i) out[i] += w * v[i];
    }
  }
}

void attend_layer(const LayerAttention& a, size_t n, ThreadPool& pool) {
  constexpr size_t kTile = 16;  // queries per work item: 1, 2 or 4 vectors of them
  const size_t tiles = (n + kTile - 1) / kTile, heads = size_t(a.n_heads);
  const size_t q_dim = size_t(a.n_heads * a.head_size), kv_dim = size_t(a.n_kv_heads * a.head_size);
  const int kv_mul = a.n_heads / a.n_kv_heads;
  HeadAttention base;
  base.q_stride = base.out_stride = q_dim;
  base.kv_stride = kv_dim;
  base.head_size = a.head_size;
  base.pos = a.pos;
  base.window = a.window;
  base.scale = 1.f / std::sqrt(float(a.head_size));
  // A causal tile's work grows with its position and the pool hands out contiguous ranges: the
  // tiles go in the order first, last, second, second-to-last, … so that every range holds early
  // and late tiles alike.
  pool.parallel_for(tiles * heads, [&](size_t b, size_t e) {
    for (size_t item = b; item < e; ++item) {
      const size_t slot = item / heads, h = item % heads;
      const size_t tile = slot % 2 == 0 ? slot / 2 : tiles - 1 - slot / 2;
      const size_t t0 = tile * kTile, t1 = std::min(n, t0 + kTile);
      const size_t koff = (h / size_t(kv_mul)) * size_t(a.head_size);
      HeadAttention head = base;
      head.q = a.q + h * size_t(a.head_size);
      head.k = a.k + koff;
      head.v = a.v + koff;
      head.out = a.out + h * size_t(a.head_size);
      attend(head, int(t0), int(t1));
    }
  });
}

}  // namespace mixq::kernels
