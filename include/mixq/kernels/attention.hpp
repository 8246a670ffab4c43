#pragma once
// Causal attention of one head: each query scores the keys it may see, softmax, and the
// probability-weighted sum of their values. The reference takes one query at a time; the SIMD
// kernel takes as many queries as a vector has lanes (one lane per query) and gives the very same
// bits: each lane performs the reference's operations in the reference's order (no fused
// multiply-add, the same libm exp), so a model's outputs do not depend on which one ran.
#include <cstddef>

#include "mixq/core/thread_pool.hpp"

namespace mixq::kernels {

// One head's queries, keys and values. Query t (at position pos + t) sees positions
// [max(0, pos + t − window + 1), pos + t], every position ≤ pos + t when window is 0.
struct HeadAttention {
  const float* q = nullptr;  // query t: q + t·q_stride, head_size floats
  size_t q_stride = 0;
  const float* k = nullptr;  // key and value of position s: k/v + s·kv_stride
  const float* v = nullptr;
  size_t kv_stride = 0;
  float* out = nullptr;      // output of query t: out + t·out_stride
  size_t out_stride = 0;
  int head_size = 0;
  int pos = 0;
  int window = 0;
  float scale = 1.f;         // applied to each score (1/√head_size)
};

// Queries [t_begin, t_end), one at a time: scores s0 + s1 (even and odd terms of the dot product
// summed apart), ·scale; softmax with the running sum in position order; out = Σ p·v in position
// order. The spec of attend().
void attend_reference(const HeadAttention& a, int t_begin, int t_end);
// The same bits, one query per vector lane (Highway, best target at run time).
void attend(const HeadAttention& a, int t_begin, int t_end);

// Every head of one layer for n queries at positions pos..pos+n-1: q and out [n][n_heads·head_size],
// k and v the cache's rows [positions][n_kv_heads·head_size]; query head h reads KV head
// h / (n_heads / n_kv_heads) (grouped-query attention).
struct LayerAttention {
  const float* q = nullptr;
  const float* k = nullptr;
  const float* v = nullptr;
  float* out = nullptr;
  int n_heads = 0, n_kv_heads = 0, head_size = 0;
  int pos = 0;
  int window = 0;  // sliding window (0: none), as HeadAttention
};
// attend() on the pool, one head and up to 16 queries per work item; the same bits for any
// thread count.
void attend_layer(const LayerAttention& a, size_t n, ThreadPool& pool);

}  // namespace mixq::kernels
