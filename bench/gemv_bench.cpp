// fp32 GEMV/GEMM throughput beside the machine's read bandwidth measured in the same run.
// Run: build/release/bench/mixq_bench [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <vector>

#include "bench_common.hpp"
#include "mixq/kernels/dense_f32.hpp"

namespace {

using mixq::bench::random_vector;
using mixq::bench::read_bandwidth_gbs;

// Args: rows, cols, threads. Shapes of tinystories5M layers and of a 7B model's layers.
void BM_GemvF32(benchmark::State& state) {
  const size_t rows = size_t(state.range(0)), cols = size_t(state.range(1));
  mixq::ThreadPool pool(int(state.range(2)));
  const auto w = random_vector(rows * cols), x = random_vector(cols);
  std::vector<float> y(rows);
  for (auto _ : state) {
    mixq::kernels::gemv_f32(w.data(), rows, cols, x.data(), y.data(), pool);
    benchmark::DoNotOptimize(y.data());
  }
  const double bytes = double(rows * cols * sizeof(float));
  state.SetBytesProcessed(int64_t(bytes) * state.iterations());
  state.counters["GB/s"] = benchmark::Counter(bytes / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  const double bw = read_bandwidth_gbs(pool);
  state.counters["read_bw_GB/s"] = bw;
  // Fraction of the probe's DRAM bandwidth (can exceed 1 when W fits in the last-level cache).
  state.counters["of_bw"] = benchmark::Counter(bytes / 1e9 / bw, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_GemvF32)
    ->ArgsProduct({{768}, {256}, {1, 2}})
    ->Args({256, 768, 2})
    ->Args({4096, 4096, 1})
    ->Args({4096, 4096, 2})
    ->Args({11008, 4096, 2})
    ->Args({4096, 11008, 2})
    ->UseRealTime();

// Args: rows, cols, tokens, threads.
void BM_GemmF32(benchmark::State& state) {
  const size_t rows = size_t(state.range(0)), cols = size_t(state.range(1)), n = size_t(state.range(2));
  mixq::ThreadPool pool(int(state.range(3)));
  const auto w = random_vector(rows * cols), x = random_vector(n * cols);
  std::vector<float> y(n * rows);
  for (auto _ : state) {
    mixq::kernels::gemm_f32(w.data(), rows, cols, x.data(), n, y.data(), pool);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * double(rows * cols * n) / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_GemmF32)->ArgsProduct({{4096}, {4096}, {64, 256, 512}, {2}})->UseRealTime();

}  // namespace
