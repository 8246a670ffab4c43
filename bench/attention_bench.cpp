// Attention speed: the SIMD kernel against its scalar reference on one head, and one layer's
// attention beside the same layer's linears at a long window (the measure: a 2048-token
// window's attention should cost a small fraction of its linears). Both halves of that ratio are
// measured in the same run with the same threads.
// Run: build/release/bench/mixq_bench --benchmark_filter=Attention
#include <benchmark/benchmark.h>

#include <chrono>
#include <vector>

#include "bench_common.hpp"
#include "mixq/kernels/attention.hpp"
#include "mixq/kernels/dense_f32.hpp"

namespace {

using mixq::bench::random_vector;

// One head, n queries from position 0 (a prompt): 4·hs flops per visible (query, position) pair.
double head_gflop(int hs, size_t n) { return 4.0 * hs * double(n) * double(n + 1) / 2 / 1e9; }

// Args: head_size, tokens, simd (0: the scalar reference).
void BM_AttentionHead(benchmark::State& state) {
  const int hs = int(state.range(0));
  const size_t n = size_t(state.range(1));
  const auto q = random_vector(n * size_t(hs), 1), k = random_vector(n * size_t(hs), 2), v = random_vector(n * size_t(hs), 3);
  std::vector<float> out(n * size_t(hs));
  mixq::kernels::HeadAttention a;
  a.q = q.data();
  a.k = k.data();
  a.v = v.data();
  a.out = out.data();
  a.q_stride = a.kv_stride = a.out_stride = size_t(hs);
  a.head_size = hs;
  a.scale = 0.1f;
  for (auto _ : state) {
    if (state.range(2)) mixq::kernels::attend(a, 0, int(n));
    else mixq::kernels::attend_reference(a, 0, int(n));
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(head_gflop(hs, n), benchmark::Counter::kIsIterationInvariantRate);
}
// stories260K (8), tinystories5M (48) and Llama (128) heads.
BENCHMARK(BM_AttentionHead)->ArgsProduct({{8, 48, 128}, {256}, {0, 1}})->Args({128, 2048, 0})->Args({128, 2048, 1});

// One Llama-2-7B layer at a window of n tokens on `threads` threads: attention (32 heads of 128)
// against the layer's linears (4·4096² + 3·4096·11008 weights), timed as one 4096×4096 fp32 GEMM
// of n tokens scaled by the weight ratio (12.06). Args: tokens, threads.
void BM_AttentionVsLinears7B(benchmark::State& state) {
  const size_t n = size_t(state.range(0)), dim = 4096;
  mixq::ThreadPool pool(int(state.range(1)));
  const auto q = random_vector(n * dim, 1), k = random_vector(n * dim, 2), v = random_vector(n * dim, 3);
  const auto w = random_vector(dim * dim, 4);
  std::vector<float> out(n * dim), y(n * dim);
  mixq::kernels::LayerAttention a;
  a.q = q.data();
  a.k = k.data();
  a.v = v.data();
  a.out = out.data();
  a.n_heads = a.n_kv_heads = 32;
  a.head_size = 128;
  const double weight_ratio = (4.0 * 4096 * 4096 + 3.0 * 4096 * 11008) / (4096.0 * 4096);
  using clock = std::chrono::steady_clock;
  double att_s = 0, lin_s = 0;
  for (auto _ : state) {
    const auto t0 = clock::now();
    mixq::kernels::attend_layer(a, n, pool);
    const auto t1 = clock::now();
    mixq::kernels::gemm_f32(w.data(), dim, dim, q.data(), n, y.data(), pool);
    const auto t2 = clock::now();
    att_s += std::chrono::duration<double>(t1 - t0).count();
    lin_s += std::chrono::duration<double>(t2 - t1).count() * weight_ratio;
    benchmark::DoNotOptimize(out.data());
    benchmark::DoNotOptimize(y.data());
  }
  const double iters = double(state.iterations());
  state.counters["attention_s"] = att_s / iters;
  state.counters["linears_s"] = lin_s / iters;
  state.counters["attention/linears"] = att_s / lin_s;
  state.counters["attention_GFLOP/s"] = 32 * head_gflop(128, n) * iters / att_s;
}
BENCHMARK(BM_AttentionVsLinears7B)->Args({512, 2})->Args({2048, 1})->Args({2048, 2})->Iterations(2)->UseRealTime();

}  // namespace
