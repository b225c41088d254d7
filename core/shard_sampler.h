#pragma once
// Which rows each rank trains on. One seeded permutation of the data set per epoch; global batch
// s of that permutation is rows [s*B, (s+1)*B), and rank r of R takes its contiguous slice
// [r*B/R, (r+1)*B/R). Every rank takes floor(N / B) steps per epoch: the last partial batch is
// dropped (a different one each epoch), whatever the rank count, so all ranks stay in step.
//
// Up to kTableRows rows the permutation is a Fisher-Yates shuffle held as a table (8 bytes a row);
// past it, a keyed bijection of [0, N) (a 4-round Feistel network on the next even power of two,
// cycle-walking back into range) gives any position's row in O(1) memory, so a data set of 2^31
// rows costs no 16 GiB table. Both depend on (seed, epoch) only: the same at every rank count.
#include <cstdint>
#include <vector>

namespace shardnet {

class ShardSampler {
 public:
  ShardSampler(int64_t dataset_size, int64_t global_batch, int rank, int world_size, uint64_t seed);

  int64_t steps_per_epoch() const { return dataset_size_ / global_batch_; }
  static constexpr int64_t kTableRows = int64_t{1} << 24;

  void start_epoch(int64_t epoch);
  // This rank's rows of global batch `step` of the current epoch.
  std::vector<int64_t> rows(int64_t step) const;
  // All rows of global batch `step` (every rank's slice, in order).
  std::vector<int64_t> global_rows(int64_t step) const;
  // The row at position `position` of the current epoch's permutation.
  int64_t row_at(int64_t position) const;

 private:
  uint64_t feistel(uint64_t x) const;

  int64_t dataset_size_, global_batch_;
  int rank_, world_size_;
  uint64_t seed_;
  int64_t epoch_ = -1;
  std::vector<int64_t> order_;  // the table, for data sets of up to kTableRows rows
  int half_bits_ = 0;           // the Feistel network's domain is 2^(2 half_bits) >= N
  uint64_t round_keys_[4] = {};
};

// Contiguous share [first, last) of `total` items for rank r of R (evaluation sharding).
void shard_range(int64_t total, int rank, int world_size, int64_t& first, int64_t& last);

}  // namespace shardnet
