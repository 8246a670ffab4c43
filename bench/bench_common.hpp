#pragma once
// Helpers shared by the benchmarks: the read-bandwidth probe (measured in the same run, with the
// same threads as the kernel) and reproducible synthetic weights.
#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

#include "mixq/core/thread_pool.hpp"
#include "mixq/eval/speed.hpp"

namespace mixq::bench {

// Measured once per thread count, with the same threads the kernel uses.
inline double read_bandwidth_gbs(ThreadPool& pool) {
  static std::map<int, double> bw;
  auto it = bw.find(pool.size());
  if (it == bw.end()) it = bw.emplace(pool.size(), eval::measure_read_bandwidth(pool)).first;
  return it->second;
}

// How many copies of a weight a benchmark cycles through so that its reads come from memory, as
// in a model larger than the cache: together they span at least 4× the last-level cache and
// 256 MiB, so no copy is still cached when its turn comes round again. 1 when not streaming (the
// weight stays cache-resident if it fits: the kernel's compute ceiling).
inline size_t stream_copies(double bytes_per_copy, bool streamed) {
  if (!streamed) return 1;
  long l3 = 0;
#ifdef _SC_LEVEL3_CACHE_SIZE
  l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
#endif
  const double span = std::max(256.0 * 1024 * 1024, 4.0 * double(std::max(l3, 0L)));
  return size_t(std::ceil(span / bytes_per_copy));
}

// N(0, 0.02²) values, like a trained model's weights, from a fixed seed.
inline std::vector<float> random_vector(size_t n, unsigned seed = 42) {
  std::mt19937 g(seed);
  std::normal_distribution<float> d(0.f, 0.02f);
  std::vector<float> v(n);
  for (auto& x : v) x = d(g);
  return v;
}

// Peak resident set of this process so far, MiB.
inline double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;
}

}  // namespace mixq::bench
