// Speed of the accelerator model itself: one FineQ layer (tinystories5M MLP shapes, random
// weights) on a 256-token prompt through the 32×32 array, per PE model. Simulated PE-beats per
// second is the figure of merit (all linears of tinystories5M for one 256-token prompt are
// ~1.6 G PE-beats per PE model). Run: build/release/bench/mixq_bench --benchmark_filter=Simulate
#include <benchmark/benchmark.h>

#include "bench_common.hpp"
#include "mixq/accel/systolic.hpp"
#include "mixq/quant/methods/method.hpp"

namespace {

// Args: rows, cols, PE model (0 baseline, 1 select, 2 unary).
void BM_SimulateLayer(benchmark::State& state) {
  const int64_t rows = state.range(0), cols = state.range(1), tokens = 256;
  const auto o = mixq::quant::parse_method_spec("fineq-rtn:row+paper");
  const mixq::Tensor w{{rows, cols}, mixq::bench::random_vector(size_t(rows * cols))};
  const auto layer = mixq::accel::AccelLayer::from_fineq(mixq::quant::method_info(o.method).quantize(w, {}, o));
  const auto x = mixq::bench::random_vector(size_t(tokens * cols), 5);
  const auto acts = mixq::accel::Activations::quantize(x.data(), tokens, cols, layer.k);
  const auto cfg = mixq::accel::AccelConfig::defaults();
  const auto pe = static_cast<mixq::accel::PeKind>(state.range(2));
  uint64_t beats = 0;
  for (auto _ : state) {
    const auto r = mixq::accel::simulate(layer, acts, cfg, pe);
    beats = r.events.total_steps;
    benchmark::DoNotOptimize(r.y.data());
  }
  state.SetLabel(mixq::accel::pe_name(pe));
  state.counters["PE-steps/s"] = benchmark::Counter(double(beats), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_SimulateLayer)->ArgsProduct({{768}, {256}, {0, 1, 2}})->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
