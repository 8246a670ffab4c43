#include "mixq/core/thread_pool.hpp"

#include <algorithm>

namespace mixq {
namespace {

// The [begin, end) share of part `index` out of `parts` when n items are cut in grain-sized units.
std::pair<size_t, size_t> share(size_t n, size_t grain, int index, int parts) {
  const size_t units = (n + grain - 1) / grain;
  const size_t lo = units * size_t(index) / size_t(parts);
  const size_t hi = units * size_t(index + 1) / size_t(parts);
  return {std::min(n, lo * grain), std::min(n, hi * grain)};
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

}  // namespace

ThreadPool::ThreadPool(int threads) {
  if (threads <= 0) threads = int(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::parallel_for(size_t n, RangeFn fn, size_t grain) {
  grain = std::max<size_t>(grain, 1);
  if (workers_.empty() || n <= grain) {
    if (n) fn(0, n);
    return;
  }
  job_ = &fn;
  job_n_ = n;
  job_grain_ = grain;
  pending_.store(int(workers_.size()), std::memory_order_relaxed);
  {
    // Bumped under the lock so a worker between its last check and its wait cannot miss it.
    std::lock_guard lock(mutex_);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  auto [b, e] = share(n, grain, 0, size());
  if (b < e) fn(b, e);
  for (int spins = 0; pending_.load(std::memory_order_acquire) != 0; ++spins)
    if (spins > 4096) std::this_thread::yield();
  job_ = nullptr;
}

void ThreadPool::worker_loop(int index) {
  unsigned seen = 0;
  for (;;) {
    // Spin a little (a few tens of µs) for the next job, then sleep.
    for (int spins = 0; spins < 20000 && generation_.load(std::memory_order_acquire) == seen && !stop_; ++spins)
      cpu_relax();
    if (generation_.load(std::memory_order_acquire) == seen) {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || generation_.load(std::memory_order_acquire) != seen; });
    }
    if (stop_) return;
    seen = generation_.load(std::memory_order_acquire);
    auto [b, e] = share(job_n_, job_grain_, index, size());
    if (b < e) (*job_)(b, e);
    pending_.fetch_sub(1, std::memory_order_release);
  }
}

}  // namespace mixq
