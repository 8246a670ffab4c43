#include "mixq/core/thread_pool.hpp"

#include <algorithm>
#include <chrono>

#include "mixq/core/error.hpp"

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

int hardware_threads() { return int(std::max(1u, std::thread::hardware_concurrency())); }

}  // namespace

int ThreadPool::max_threads() { return 4 * hardware_threads(); }

ThreadPool::ThreadPool(int threads) {
  if (threads <= 0) threads = hardware_threads();
  if (threads > max_threads())
    fail("--threads", "{} threads asked for; at most {} (4 × the {} hardware threads)", threads, max_threads(),
         hardware_threads());
  spin_ = threads <= hardware_threads();
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
  // Spin, then yield for up to a millisecond (a prompt's GEMM ranges end within it, and a
  // condition-variable wake-up would add tens of µs to each), then sleep.
  auto done = [&] { return pending_.load(std::memory_order_acquire) == 0; };
  for (int spins = 0; spin_ && spins < 4096 && !done(); ++spins) cpu_relax();
  if (spin_ && !done()) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(1);
    for (int i = 1; !done() && (i % 64 != 0 || std::chrono::steady_clock::now() < until); ++i) std::this_thread::yield();
  }
  if (!done()) {
    std::unique_lock lock(mutex_);
    done_.wait(lock, done);
  }
  job_ = nullptr;
}

void ThreadPool::worker_loop(int index) {
  unsigned seen = 0;
  for (;;) {
    // Spin a little (a few tens of µs) for the next job, then sleep.
    for (int spins = 0; spin_ && spins < 20000 && generation_.load(std::memory_order_acquire) == seen && !stop_; ++spins)
      cpu_relax();
    if (generation_.load(std::memory_order_acquire) == seen) {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || generation_.load(std::memory_order_acquire) != seen; });
    }
    if (stop_) return;
    seen = generation_.load(std::memory_order_acquire);
    auto [b, e] = share(job_n_, job_grain_, index, size());
    if (b < e) (*job_)(b, e);
    if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      // The last range: wake the caller if it went to sleep. Under the lock, so the caller cannot
      // test pending_ before this decrement and then wait after this notify.
      std::lock_guard lock(mutex_);
      done_.notify_one();
    }
  }
}

}  // namespace mixq
