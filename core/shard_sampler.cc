#include "core/shard_sampler.h"

#include <cassert>
#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>

#include "core/random.h"

namespace shardnet {

ShardSampler::ShardSampler(int64_t dataset_size, int64_t global_batch, int rank, int world_size, uint64_t seed)
    : dataset_size_(dataset_size), global_batch_(global_batch), rank_(rank), world_size_(world_size), seed_(seed) {
  assert(rank >= 0 && rank < world_size);
  if (global_batch <= 0) throw std::invalid_argument("the batch size must be positive");
  if (global_batch < world_size) {
    throw std::invalid_argument("the global batch (" + std::to_string(global_batch) +
                                ") is smaller than the number of ranks (" + std::to_string(world_size) + ")");
  }
  if (dataset_size < global_batch) {
    throw std::invalid_argument("the data set has " + std::to_string(dataset_size) +
                                " samples, fewer than one batch of " + std::to_string(global_batch));
  }
}

void ShardSampler::start_epoch(int64_t epoch) {
  order_.resize(static_cast<size_t>(dataset_size_));
  std::iota(order_.begin(), order_.end(), 0);
  CounterRng rng(seed_, hash_key(0x5a3b1e, static_cast<uint64_t>(epoch)));
  for (int64_t i = dataset_size_ - 1; i > 0; --i) {
    std::swap(order_[i], order_[rng.below(static_cast<uint64_t>(i + 1))]);
  }
}

std::span<const int64_t> ShardSampler::global_rows(int64_t step) const {
  assert(!order_.empty() && step >= 0 && step < steps_per_epoch());
  return std::span<const int64_t>(order_).subspan(step * global_batch_, global_batch_);
}

std::span<const int64_t> ShardSampler::rows(int64_t step) const {
  int64_t first, last;
  shard_range(global_batch_, rank_, world_size_, first, last);
  return global_rows(step).subspan(first, last - first);
}

void shard_range(int64_t total, int rank, int world_size, int64_t& first, int64_t& last) {
  first = total * rank / world_size;
  last = total * (rank + 1) / world_size;
}

}  // namespace shardnet
