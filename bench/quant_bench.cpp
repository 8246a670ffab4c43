// Quantization engine benchmarks: packed GEMV throughput (bytes of packed weights per second
// beside the read bandwidth measured in the same run) and the time and peak memory of RTN and
// GPTQ on one layer. Run: build/release/bench/mixq_bench --benchmark_filter='Packed|Quantize'
#include <benchmark/benchmark.h>

#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "bench_common.hpp"
#include "mixq/model/packed_linear.hpp"
#include "mixq/quant/methods/method.hpp"

namespace {

using mixq::bench::random_vector;
using mixq::bench::read_bandwidth_gbs;
using mixq::bench::stream_copies;

mixq::Tensor random_weight(int64_t rows, int64_t cols) {
  return mixq::Tensor{{rows, cols}, random_vector(size_t(rows * cols))};
}

// A Hessian X Xᵀ of `tokens` random inputs with a few strong channels, as real activations have.
std::vector<double> random_hessian(int64_t cols, int64_t tokens) {
  const auto x = random_vector(size_t(cols * tokens), 7);
  std::vector<double> h(size_t(cols * cols), 0.0);
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t i = 0; i < cols; ++i) {
      const double xi = x[size_t(t * cols + i)] * (i % 97 == 0 ? 20.0 : 1.0);
      for (int64_t j = 0; j <= i; ++j) h[size_t(i * cols + j)] += xi * x[size_t(t * cols + j)] * (j % 97 == 0 ? 20.0 : 1.0);
    }
  for (int64_t i = 0; i < cols; ++i)
    for (int64_t j = i + 1; j < cols; ++j) h[size_t(i * cols + j)] = h[size_t(j * cols + i)];
  return h;
}

// fineq with the paper's rule: the kernel reads the same bytes whatever rule chose them, and the
// ratio rule quantizes fastest. slim: random codes at widths 1, 2, 3 in turn (N = 2, G = 128) —
// the kernel's cost depends on the widths, not on how SBA chose them.
const char* const kGemvSpecs[] = {"rtn:2:128", "rtn:3:128", "rtn:4:128", "fineq-rtn:row+paper", "slim:2:128"};

mixq::formats::PackedTensor packed_weight(const mixq::quant::MethodOptions& o, int64_t rows, int64_t cols) {
  if (o.method != "slim") return mixq::quant::method_info(o.method).quantize(random_weight(rows, cols), {}, o);
  const auto& p = o.get<mixq::quant::SlimOptions>().format;
  std::vector<int> widths(size_t(p.groups(cols)));
  for (size_t g = 0; g < widths.size(); ++g) widths[g] = 1 + int(g % 3);
  const auto r = random_vector(size_t(rows * cols), 3);
  std::vector<uint8_t> codes(size_t(rows * cols));
  for (size_t i = 0; i < codes.size(); ++i)
    codes[i] = uint8_t(std::abs(r[i]) * 1000.f) % uint8_t(1 << widths[size_t(int64_t(i) % cols / p.group)]);
  const std::vector<float> scales(size_t(rows * p.groups(cols)), 0.01f);
  return mixq::formats::SlimFormat::pack(rows, cols, widths, codes, scales, scales, p);
}

// Args: rows, cols, format (index into kGemvSpecs), threads, streamed. GEMV = one token through
// PackedLinear (the interleaved kernel). GB/s counts the bytes one token reads (the interleaved
// copy: its code planes and fp32 scales/offsets, run_bpw); bpw is the file's. streamed = 1 cycles
// through copies spanning more than the cache (a large model's decode, what of_bw is about);
// 0 reads one copy, cache-resident when it fits (the kernel's compute ceiling: of_bw can pass 1).
void BM_PackedGemv(benchmark::State& state) {
  const int64_t rows = state.range(0), cols = state.range(1);
  const auto o = mixq::quant::parse_method_spec(kGemvSpecs[state.range(2)]);
  const mixq::model::PackedLinear lin(packed_weight(o, rows, cols));
  const double bytes = double(lin.bytes_per_token());
  const std::vector<mixq::model::PackedLinear> copies(stream_copies(bytes, state.range(4) != 0), lin);
  mixq::ThreadPool pool(int(state.range(3)));
  const auto x = random_vector(size_t(cols));
  std::vector<float> y(static_cast<size_t>(rows));
  size_t next = 0;
  for (auto _ : state) {
    copies[next].forward(x.data(), 1, y.data(), pool);
    next = next + 1 == copies.size() ? 0 : next + 1;
    benchmark::DoNotOptimize(y.data());
  }
  state.SetLabel(std::string(kGemvSpecs[state.range(2)]) + (state.range(4) ? " streamed" : " hot"));
  state.counters["bpw"] = lin.packed().bits_per_weight();
  state.counters["run_bpw"] = 8 * bytes / double(rows * cols);
  state.counters["GB/s"] = benchmark::Counter(bytes / 1e9, benchmark::Counter::kIsIterationInvariantRate);
  const double bw = read_bandwidth_gbs(pool);
  state.counters["read_bw_GB/s"] = bw;
  state.counters["of_bw"] = benchmark::Counter(bytes / 1e9 / bw, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_PackedGemv)
    ->ArgsProduct({{172}, {64}, {0, 3}, {1}, {0}})          // stories260K w1/w3
    ->Apply([](benchmark::internal::Benchmark* b) {  // tinystories5M w1/w3, w2, wq
      for (auto [rows, cols] : {std::pair{768, 256}, std::pair{256, 768}, std::pair{256, 256}})
        for (int format = 0; format < 5; ++format)
          for (int threads : {1, 2}) b->Args({rows, cols, format, threads, 0});
    })
    ->ArgsProduct({{4096}, {4096}, {0, 1, 2, 3, 4}, {1, 2}, {0, 1}})
    ->ArgsProduct({{11008}, {4096}, {0, 3, 4}, {2}, {1}})
    ->ArgsProduct({{4096}, {11008}, {0, 3, 4}, {2}, {1}})
    ->UseRealTime();

// Args: rows, cols, format (index into kGemvSpecs), tokens, threads. A prompt's batch through
// PackedLinear (slabs dequantized, then BLAS): GFLOP/s to set beside BM_GemmF32 on the same shape.
void BM_PackedGemm(benchmark::State& state) {
  const int64_t rows = state.range(0), cols = state.range(1), n = state.range(3);
  const auto o = mixq::quant::parse_method_spec(kGemvSpecs[state.range(2)]);
  const mixq::model::PackedLinear lin(packed_weight(o, rows, cols));
  mixq::ThreadPool pool(int(state.range(4)));
  const auto x = random_vector(size_t(n * cols));
  std::vector<float> y(size_t(n * rows));
  for (auto _ : state) {
    lin.forward(x.data(), size_t(n), y.data(), pool);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetLabel(kGemvSpecs[state.range(2)]);
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * double(rows * cols * n) / 1e9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_PackedGemm)->ArgsProduct({{4096}, {4096}, {0, 1, 2, 3, 4}, {64, 256, 512}, {2}})->UseRealTime();

// Args: method (0 rtn, 1 gptq), rows, cols, bits. One layer's quantization time and peak RSS.
void BM_QuantizeLayer(benchmark::State& state) {
  const bool gptq = state.range(0) == 1;
  const int64_t rows = state.range(1), cols = state.range(2);
  const auto w = random_weight(rows, cols);
  const mixq::quant::LayerCalibration calib{gptq ? random_hessian(cols, 256) : std::vector<double>{}, nullptr, {}, nullptr};
  const auto o = mixq::quant::parse_method_spec(fmt::format("{}:{}:128", gptq ? "gptq" : "rtn", state.range(3)));
  const auto& method = mixq::quant::method_info(o.method);
  for (auto _ : state) benchmark::DoNotOptimize(method.quantize(w, calib, o).parts.size());
  state.SetLabel(o.method);
  state.counters["weights/s"] = benchmark::Counter(double(rows * cols), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["peak_rss_MiB"] = mixq::bench::peak_rss_mib();
}
BENCHMARK(BM_QuantizeLayer)
    ->Args({0, 768, 288, 3})
    ->Args({1, 768, 288, 3})
    ->Args({0, 4096, 4096, 3})
    ->Args({1, 4096, 4096, 3})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1)
    ->UseRealTime();

}  // namespace
