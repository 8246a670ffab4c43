// CUDA GEMV/GEMM on the interleaved layout: weight bytes read per second beside the device's
// copy bandwidth measured in the same run. Built only with CUDA; skips without a GPU.
// Run: build/release/bench/mixq_cuda_bench
#include <benchmark/benchmark.h>

#include "bench_common.hpp"
#include "mixq/kernels/cuda/interleaved_gemm.hpp"
#include "mixq/model/packed_linear.hpp"
#include "mixq/quant/methods/method.hpp"

namespace {

const char* const kSpecs[] = {"rtn:2:128", "rtn:3:128", "rtn:4:128", "fineq-rtn:row+paper"};

// Args: rows, cols, format (index into kSpecs), tokens.
void BM_CudaGemm(benchmark::State& state) {
  if (mixq::kernels::cuda::device_count() == 0) {
    state.SkipWithError("no CUDA device");
    return;
  }
  const int64_t rows = state.range(0), cols = state.range(1);
  const auto o = mixq::quant::parse_method_spec(kSpecs[state.range(2)]);
  const auto w = mixq::bench::random_vector(size_t(rows * cols));
  const mixq::model::PackedLinear lin(mixq::quant::method_info(o.method).quantize(mixq::Tensor{{rows, cols}, w}, {}, o));
  const mixq::kernels::cuda::DeviceInterleaved dev(*lin.interleaved());
  double ms = 0;
  for (auto _ : state) {
    ms = dev.time_gemm_ms(size_t(state.range(3)), 50);
    state.SetIterationTime(ms * 1e-3);
  }
  const double gbs = double(dev.weight_bytes()) / (ms * 1e-3) / 1e9;
  const double bw = mixq::kernels::cuda::measure_copy_bandwidth_gbs();
  state.SetLabel(kSpecs[state.range(2)]);
  state.counters["GB/s"] = gbs;
  state.counters["copy_bw_GB/s"] = bw;
  state.counters["of_bw"] = gbs / bw;
}
BENCHMARK(BM_CudaGemm)
    ->ArgsProduct({{4096}, {4096}, {0, 1, 2, 3}, {1, 8}})
    ->ArgsProduct({{11008}, {4096}, {0, 3}, {1}})
    ->ArgsProduct({{4096}, {11008}, {0, 3}, {1}})
    ->UseManualTime()
    ->Iterations(3);

}  // namespace
