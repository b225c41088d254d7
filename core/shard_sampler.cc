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
  epoch_ = epoch;
  if (dataset_size_ <= kTableRows) {
    order_.resize(static_cast<size_t>(dataset_size_));
    std::iota(order_.begin(), order_.end(), 0);
    CounterRng rng(seed_, hash_key(0x5a3b1e, static_cast<uint64_t>(epoch)));
    for (int64_t i = dataset_size_ - 1; i > 0; --i) {
      std::swap(order_[i], order_[rng.below(static_cast<uint64_t>(i + 1))]);
    }
    return;
  }
  half_bits_ = 1;
  while ((uint64_t{1} << (2 * half_bits_)) < static_cast<uint64_t>(dataset_size_)) ++half_bits_;
  for (uint64_t r = 0; r < 4; ++r)
    round_keys_[r] = hash_key(seed_, hash_key(0xfe157e1, static_cast<uint64_t>(epoch)), r);
}

uint64_t ShardSampler::feistel(uint64_t x) const {
  const uint64_t mask = (uint64_t{1} << half_bits_) - 1;
  uint64_t left = x >> half_bits_, right = x & mask;
  for (uint64_t key : round_keys_) {
    const uint64_t next = left ^ (mix64(right ^ key) & mask);
    left = right;
    right = next;
  }
  return (left << half_bits_) | right;
}

int64_t ShardSampler::row_at(int64_t position) const {
  if (epoch_ < 0) throw std::logic_error("ShardSampler: start_epoch() was not called");
  if (!order_.empty()) return order_[static_cast<size_t>(position)];
  // A bijection of [0, 2^(2h)); positions that land past N walk on until they are in range, which
  // keeps it a bijection of [0, N) (at most 4 N / N steps on average: the domain is below 4 N).
  uint64_t x = static_cast<uint64_t>(position);
  do {
    x = feistel(x);
  } while (x >= static_cast<uint64_t>(dataset_size_));
  return static_cast<int64_t>(x);
}

std::vector<int64_t> ShardSampler::global_rows(int64_t step) const {
  assert(step >= 0 && step < steps_per_epoch());
  std::vector<int64_t> out(static_cast<size_t>(global_batch_));
  for (int64_t i = 0; i < global_batch_; ++i) out[static_cast<size_t>(i)] = row_at(step * global_batch_ + i);
  return out;
}

std::vector<int64_t> ShardSampler::rows(int64_t step) const {
  int64_t first, last;
  shard_range(global_batch_, rank_, world_size_, first, last);
  std::vector<int64_t> out(static_cast<size_t>(last - first));
  for (int64_t i = first; i < last; ++i) out[static_cast<size_t>(i - first)] = row_at(step * global_batch_ + i);
  return out;
}

void shard_range(int64_t total, int rank, int world_size, int64_t& first, int64_t& last) {
  first = total * rank / world_size;
  last = total * (rank + 1) / world_size;
}

}  // namespace shardnet
