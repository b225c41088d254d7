#pragma once
// One parameter's exact gradient sum over the ranks (exact mode), in flight. Its grain sum
// (core/exact_sum.h), aligned to the top all ranks agreed on, is reduce-scattered by blocks of
// elements: each rank sums its 1/N of the elements' 64-bit limbs exactly and rounds them to float
// into the gradient, and the floats are all-gathered. On the wire that is 2 x 8 bytes a value for
// the reduce-scatter and 4 for the gather, where an allreduce of the 16-byte sums moves 32; and
// each rank rounds 1/N of the values.
#include <memory>
#include <span>
#include <vector>

#include "core/layer.h"
#include "dist/communicator.h"

namespace shardnet::dist {

class ExactGradientSum {
 public:
  ExactGradientSum();
  ~ExactGradientSum();
  ExactGradientSum(ExactGradientSum&&) noexcept;
  ExactGradientSum& operator=(ExactGradientSum&&) noexcept;

  // Starts the reduce-scatter of `param`'s grain sum, already aligned to the agreed top. The
  // parameter must outlive the sum.
  void start(const Communicator& comm, Param& param);
  // Lets MPI move the sum along.
  void test();
  // Waits for this rank's block, rounds it into the gradient and starts the gather. Every rank
  // calls it for its sums in the same order.
  void gather(const Communicator& comm);
  // Waits for the gather: the whole gradient is then written.
  void wait();

 private:
  struct Requests;
  std::unique_ptr<Requests> requests_;
  Param* param_ = nullptr;
  std::vector<int> counts_, offsets_;  // elements per rank, and where each rank's block starts
  std::vector<int64_t> high_, low_;    // this rank's block of the summed limbs
};

// A non-blocking element-wise MAX of small integers over all ranks, in place (the sums' tops).
class PendingMax {
 public:
  PendingMax();
  ~PendingMax();
  PendingMax(PendingMax&&) noexcept;
  PendingMax& operator=(PendingMax&&) noexcept;
  void start(const Communicator& comm, std::span<int32_t> values);
  void wait();

 private:
  struct Request;
  std::unique_ptr<Request> request_;
};

}  // namespace shardnet::dist
