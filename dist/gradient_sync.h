#pragma once
// The MPI Collective for the training loop. Gradients (already scaled by 1 / global batch) are
// packed into buckets of about `bucket_bytes`, in reverse parameter order (the order backward
// produces them, as PyTorch DDP's Reducer does), and each bucket is summed with one MPI_Allreduce
// instead of one call per tensor. Buckets are the same on every rank because the model is.
#include <vector>

#include "core/trainer.h"
#include "dist/communicator.h"

namespace shardnet::dist {

class GradientSync : public Collective {
 public:
  static constexpr size_t kDefaultBucketBytes = 4 << 20;

  explicit GradientSync(const Communicator& comm, size_t bucket_bytes = kDefaultBucketBytes);

  int rank() const override { return comm_.rank(); }
  int world_size() const override { return comm_.size(); }
  void sum_gradients(const std::vector<Param*>& params) override;
  void sum(std::span<double> values) override { comm_.allreduce_sum(values); }

  // Seconds spent inside the allreduce calls since construction, and how many buckets were sent.
  double allreduce_seconds() const { return allreduce_seconds_; }
  int64_t buckets_sent() const { return buckets_sent_; }

 private:
  // Groups of consecutive parameters (in reverse order) whose gradients go in one allreduce.
  void plan_buckets(const std::vector<Param*>& params);

  const Communicator& comm_;
  size_t bucket_bytes_;
  std::vector<std::vector<Param*>> buckets_;
  std::vector<const Param*> planned_for_;
  std::vector<float> buffer_;
  double allreduce_seconds_ = 0.0;
  int64_t buckets_sent_ = 0;
};

// Makes every rank start from rank 0's parameters.
void broadcast_parameters(const Communicator& comm, const std::vector<Param*>& params);

// Checks that all ranks agree on what they are about to train: each (name, value) pair is compared
// across ranks and a mismatch throws MpiError naming the ranks that differ from rank 0. Every rank
// calls this with the same names in the same order.
struct Fingerprint {
  std::string name;   // "model file", "parameter count", ...
  std::string value;  // rendered for the message; hashed for the comparison
};
void check_same_on_all_ranks(const Communicator& comm, const std::vector<Fingerprint>& items);

}  // namespace shardnet::dist
