#include "core/shard_sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

namespace shardnet {
namespace {

TEST(ShardSampler, EpochIsAPermutationAndDropsThePartialBatch) {
  ShardSampler sampler(103, 10, 0, 1, 42);
  EXPECT_EQ(sampler.steps_per_epoch(), 10);
  sampler.start_epoch(0);
  std::set<int64_t> seen;
  for (int64_t s = 0; s < 10; ++s)
    for (int64_t r : sampler.rows(s)) seen.insert(r);
  EXPECT_EQ(seen.size(), 100u);
  EXPECT_LT(*seen.rbegin(), 103);
}

TEST(ShardSampler, RankSlicesConcatenateToTheGlobalBatch) {
  for (int world : {1, 2, 3, 4}) {
    ShardSampler single(1000, 64, 0, 1, 7);
    single.start_epoch(3);
    std::vector<ShardSampler> ranks;
    for (int r = 0; r < world; ++r) {
      ranks.emplace_back(1000, 64, r, world, 7);
      ranks.back().start_epoch(3);
    }
    for (int64_t s = 0; s < single.steps_per_epoch(); ++s) {
      std::vector<int64_t> joined;
      for (auto& rank : ranks) {
        auto rows = rank.rows(s);
        joined.insert(joined.end(), rows.begin(), rows.end());
      }
      auto expected = single.rows(s);
      ASSERT_TRUE(std::equal(joined.begin(), joined.end(), expected.begin(), expected.end())) << world;
    }
  }
}

TEST(ShardSampler, EpochsAndSeedsShuffleDifferently) {
  ShardSampler a(50, 50, 0, 1, 1), b(50, 50, 0, 1, 2);
  a.start_epoch(0);
  const std::vector<int64_t> e0 = a.rows(0);
  a.start_epoch(1);
  const std::vector<int64_t> e1 = a.rows(0);
  b.start_epoch(0);
  const std::vector<int64_t> f0 = b.rows(0);
  EXPECT_NE(e0, e1);
  EXPECT_NE(e0, f0);
  a.start_epoch(0);
  EXPECT_EQ(e0, a.rows(0));
}

TEST(ShardSampler, PastTheTableAKeyedBijectionGivesEveryRowOnceAtAnyRankCount) {
  const int64_t n = ShardSampler::kTableRows + 12345, batch = 1 << 16;  // an odd size past the table
  ShardSampler single(n, batch, 0, 1, 7);
  single.start_epoch(3);
  std::vector<bool> seen(static_cast<size_t>(n), false);
  for (int64_t p = 0; p < n; ++p) {
    const int64_t row = single.row_at(p);
    ASSERT_TRUE(row >= 0 && row < n) << row;
    ASSERT_FALSE(seen[static_cast<size_t>(row)]) << "row " << row << " twice";
    seen[static_cast<size_t>(row)] = true;
  }
  for (int ranks : {2, 3}) {  // each rank's slice of a step is its part of the single process's batch
    std::vector<int64_t> joined;
    for (int r = 0; r < ranks; ++r) {
      ShardSampler rank(n, batch, r, ranks, 7);
      rank.start_epoch(3);
      const auto part = rank.rows(5);
      joined.insert(joined.end(), part.begin(), part.end());
    }
    EXPECT_EQ(joined, single.global_rows(5));
  }
  ShardSampler other_epoch(n, batch, 0, 1, 7);
  other_epoch.start_epoch(4);
  EXPECT_NE(other_epoch.rows(0), single.rows(0));
}

TEST(ShardSampler, RejectsImpossibleBatches) {
  EXPECT_THROW(ShardSampler(10, 20, 0, 1, 1), std::invalid_argument);
  EXPECT_THROW(ShardSampler(10, 0, 0, 1, 1), std::invalid_argument);
  EXPECT_THROW(ShardSampler(100, 2, 0, 4, 1), std::invalid_argument);
}

}  // namespace
}  // namespace shardnet
