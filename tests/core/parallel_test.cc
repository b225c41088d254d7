#include "core/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <thread>
#include <vector>

namespace shardnet {
namespace {

class ParallelTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override { set_compute_threads(GetParam()); }
  void TearDown() override { set_compute_threads(1); }
};

TEST_P(ParallelTest, CoversEveryIndexOnce) {
  EXPECT_EQ(compute_threads(), GetParam());
  for (int64_t n : {1, 2, 7, 64, 1001}) {
    std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
    parallel_for(n, 1, [&](int64_t begin, int64_t end) {
      ASSERT_LE(begin, end);
      for (int64_t i = begin; i < end; ++i) hits[static_cast<size_t>(i)]++;
    });
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[static_cast<size_t>(i)].load(), 1) << "n " << n << " i " << i;
  }
}

TEST_P(ParallelTest, AnExceptionInAnyChunkReachesTheCaller) {
  // Once std::terminate when a worker's chunk threw. Every chunk position throws in turn.
  for (int64_t bad : {int64_t{0}, int64_t{999}}) {
    std::atomic<int64_t> done{0};
    EXPECT_THROW(parallel_for(1000, 1,
                              [&](int64_t begin, int64_t end) {
                                if (begin <= bad && bad < end) throw std::invalid_argument("chunk failed");
                                done += end - begin;
                              }),
                 std::invalid_argument);
    EXPECT_LT(done.load(), 1000);
  }
  std::atomic<int64_t> sum{0};  // the pool still works afterwards
  parallel_for(1000, 1, [&](int64_t begin, int64_t end) { sum += end - begin; });
  EXPECT_EQ(sum.load(), 1000);
}

TEST_P(ParallelTest, ConcurrentCallersBothFinish) {
  std::atomic<int64_t> sum{0};
  auto job = [&] {
    for (int rep = 0; rep < 200; ++rep) {
      parallel_for(100, 1, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) sum += i;
      });
    }
  };
  std::thread other(job);
  job();
  other.join();
  EXPECT_EQ(sum.load(), 2 * 200 * (99 * 100 / 2));
}

TEST_P(ParallelTest, SmallRangesRunOnTheCaller) {
  const auto caller = std::this_thread::get_id();
  parallel_for(3, 2, [&](int64_t begin, int64_t end) {
    EXPECT_EQ(std::this_thread::get_id(), caller);
    EXPECT_EQ(begin, 0);
    EXPECT_EQ(end, 3);
  });
}

INSTANTIATE_TEST_SUITE_P(Threads, ParallelTest, ::testing::Values(1, 2, 3));

}  // namespace
}  // namespace shardnet
