#pragma once
// Which rows each rank trains on. One seeded permutation of the data set per epoch; global batch
// s of that permutation is rows [s*B, (s+1)*B), and rank r of R takes its contiguous slice
// [r*B/R, (r+1)*B/R). Every rank takes floor(N / B) steps per epoch: the last partial batch is
// dropped (a different one each epoch), whatever the rank count, so all ranks stay in step.
#include <cstdint>
#include <span>
#include <vector>

namespace shardnet {

class ShardSampler {
 public:
  ShardSampler(int64_t dataset_size, int64_t global_batch, int rank, int world_size, uint64_t seed);

  int64_t steps_per_epoch() const { return dataset_size_ / global_batch_; }
  void start_epoch(int64_t epoch);
  // This rank's rows of global batch `step` of the current epoch.
  std::span<const int64_t> rows(int64_t step) const;
  // All rows of global batch `step` (every rank's slice, in order).
  std::span<const int64_t> global_rows(int64_t step) const;

 private:
  int64_t dataset_size_, global_batch_;
  int rank_, world_size_;
  uint64_t seed_;
  std::vector<int64_t> order_;
};

// Contiguous share [first, last) of `total` items for rank r of R (evaluation sharding).
void shard_range(int64_t total, int rank, int world_size, int64_t& first, int64_t& last);

}  // namespace shardnet
