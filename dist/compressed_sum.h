#pragma once
// A non-blocking, in-place sum of floats over all ranks that puts 16-bit floats on the wire
// (`train --grad-compression bf16|fp16`), for networks slow enough that the gradient sum is the
// bottleneck. The sums themselves are float32:
//   1. each rank rounds its values, plus what rounding took from them last time (error feedback),
//      to bf16 or fp16;
//   2. a reduce-scatter by hand (MPI_Ialltoallv) gives each rank one chunk of every rank's values,
//      which it sums in float32, in rank order;
//   3. the sums, rounded again, are gathered by every rank (MPI_Iallgatherv).
// What the rounding of the sums took is added to the owner's feedback, so over the steps no part of
// any gradient is lost, only delayed. Each direction carries (N-1)/N of the values, as a ring
// allreduce of float32 does, at half the bytes. Every rank must start its sums, and their gathers,
// in the same order.
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "dist/communicator.h"

namespace shardnet::dist {

enum class WireFormat { kBf16, kFp16 };

class CompressedSum {
 public:
  explicit CompressedSum(WireFormat format);
  ~CompressedSum();
  CompressedSum(CompressedSum&&) noexcept;
  CompressedSum& operator=(CompressedSum&&) noexcept;

  // Rounds `values` (plus the feedback) and starts the reduce-scatter. `values` must stay untouched
  // until wait() returns. The feedback is kept per object: start the same values (a gradient
  // bucket) on the same object every time.
  void start(const Communicator& comm, std::span<float> values);
  // Lets MPI move the sum in flight along; starts nothing.
  void progress();
  // Waits for the reduce-scatter, sums this rank's chunk and starts the gather. MPI needs every rank
  // to start its collectives in one order: a sum's gather may not start when its scatter happens to
  // finish, so callers start the gathers of their sums in the order they started the sums.
  void start_gather();
  // Waits for the gather (starting it first if need be) and writes the sums into the values.
  void wait();
  bool active() const;
  // What the feedback holds now (tests: it stays bounded by the format's rounding).
  std::span<const float> feedback() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace shardnet::dist
