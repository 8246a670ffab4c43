#pragma once
// A fixed pool of worker threads for data-parallel loops. Work is split statically into
// contiguous ranges, so which thread computes which output never changes the result.
// Workers spin briefly before sleeping: a decode step issues hundreds of small loops, and a
// condition-variable wake-up (tens of µs) would cost more than the loops themselves. With more
// threads than hardware threads nobody spins (a spinning thread would hold the core the thread it
// waits for needs): workers sleep at once and the caller sleeps until the last range is done.
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <type_traits>
#include <mutex>
#include <thread>
#include <vector>

namespace mixq {

// A non-owning reference to a callable taking (begin, end): unlike std::function it never
// allocates, so a decode step's hundreds of parallel loops allocate nothing. The callable must
// outlive the call it is passed to (parallel_for blocks until every range is done).
class RangeFn {
 public:
  template <typename F>
  RangeFn(F&& f)  // NOLINT: implicit, so that a lambda can be passed directly
      : obj_(const_cast<void*>(static_cast<const void*>(&f))),
        call_([](void* o, size_t b, size_t e) { (*static_cast<std::remove_reference_t<F>*>(o))(b, e); }) {}
  void operator()(size_t b, size_t e) const { call_(obj_, b, e); }

 private:
  void* obj_;
  void (*call_)(void*, size_t, size_t);
};

class ThreadPool {
 public:
  // The most threads a pool takes: 4 × the hardware threads (more only slows every loop down).
  static int max_threads();
  // threads <= 0 means one per hardware thread; more than max_threads() is an Error naming --threads.
  explicit ThreadPool(int threads = 1);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return int(workers_.size()) + 1; }

  // Calls fn(begin, end) on disjoint ranges covering [0, n); the calling thread takes a share.
  // Ranges are multiples of `grain` (except the last). Blocks until all ranges are done.
  void parallel_for(size_t n, RangeFn fn, size_t grain = 1);

 private:
  void worker_loop(int index);

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  bool spin_ = true;  // false when oversubscribed
  // The current job; written before generation_ is bumped (release), read after (acquire).
  const RangeFn* job_ = nullptr;
  size_t job_n_ = 0, job_grain_ = 1;
  std::atomic<unsigned> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
};

}  // namespace mixq
