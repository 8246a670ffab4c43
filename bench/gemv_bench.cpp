// fp32 GEMV/GEMM throughput beside the machine's read bandwidth measured in the same run.
// Run: build/release/bench/mixq_bench [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <vector>

#include "bench_common.hpp"
#include "mixq/kernels/dense_f32.hpp"

namespace {

using mixq::bench::random_vector;
using mixq::bench::read_bandwidth_gbs;
using mixq::bench::stream_copies;

// Args: rows, cols, threads, streamed. Shapes of tinystories5M layers and of a 7B model's layers.
// streamed = 1 cycles through copies spanning more than the cache (bench_common.hpp).
void BM_GemvF32(benchmark::State& state) {
  const size_t rows = size_t(state.range(0)), cols = size_t(state.range(1));
  mixq::ThreadPool pool(int(state.range(2)));
  const double bytes = double(rows * cols * sizeof(float));
  const auto x = random_vector(cols);
  const std::vector<std::vector<float>> copies(stream_copies(bytes, state.range(3) != 0), random_vector(rows * cols));
  std::vector<float> y(rows);
  size_t next = 0;
  for (auto _ : state) {
    mixq::kernels::gemv_f32(copies[next].data(), rows, cols, x.data(), y.data(), pool);
    next = next + 1 == copies.size() ? 0 : next + 1;
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(int64_t(bytes) * state.iterations());
  state.counters["GB/s"] = benchmark::Counter(bytes / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  const double bw = read_bandwidth_gbs(pool);
  state.counters["read_bw_GB/s"] = bw;
  // Fraction of the probe's DRAM bandwidth (can exceed 1 when W is not streamed and fits in the cache).
  state.counters["of_bw"] = benchmark::Counter(bytes / 1e9 / bw, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_GemvF32)
    ->ArgsProduct({{768}, {256}, {1, 2}, {0}})
    ->Args({256, 768, 2, 0})
    ->ArgsProduct({{4096}, {4096}, {1, 2}, {1}})
    ->Args({11008, 4096, 2, 1})
    ->Args({4096, 11008, 2, 1})
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
