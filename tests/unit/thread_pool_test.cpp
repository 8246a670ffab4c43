#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "mixq/core/error.hpp"
#include "mixq/core/thread_pool.hpp"

namespace mixq {

TEST(ThreadPool, ParallelForCoversEveryIndexExactlyOnce) {
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    for (size_t n : {0, 1, 7, 64, 1000}) {
      for (size_t grain : {1, 16}) {
        std::vector<std::atomic<int>> hits(n);
        pool.parallel_for(n, [&](size_t b, size_t e) {
          for (size_t i = b; i < e; ++i) hits[i]++;
        }, grain);
        for (size_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "n " << n << " i " << i;
      }
    }
  }
}

// More threads than hardware threads (up to the cap): nobody spins, the caller sleeps until the
// last range is done, and every index is still computed once per loop, loop after loop (TSan runs
// this in CI). One more thread than the cap is an Error naming --threads.
TEST(ThreadPool, OversubscribedPoolSleepsAndStillCoversEveryIndex) {
  EXPECT_THROW(ThreadPool{ThreadPool::max_threads() + 1}, Error);
  ThreadPool pool(ThreadPool::max_threads());
  for (size_t n : {size_t(1), size_t(7), size_t(1000)}) {
    std::vector<std::atomic<int>> hits(n);
    for (int round = 0; round < 200; ++round)
      pool.parallel_for(n, [&](size_t b, size_t e) {
        for (size_t i = b; i < e; ++i) hits[i]++;
      });
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 200) << "n " << n << " i " << i;
  }
}

TEST(ThreadPool, RangesAreGrainAligned) {
  ThreadPool pool(2);
  std::atomic<int> misaligned{0};
  pool.parallel_for(100, [&](size_t b, size_t) { misaligned += (b % 16) != 0; }, 16);
  EXPECT_EQ(misaligned.load(), 0);
}

}  // namespace mixq
