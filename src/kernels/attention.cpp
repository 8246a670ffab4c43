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

}  // namespace mixq::kernels
