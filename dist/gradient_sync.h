#pragma once
// The MPI Collective for the training loop. Gradients (already scaled by 1 / global batch) are
// packed into buckets of about `bucket_bytes`, in reverse parameter order (the order backward
// produces them, as PyTorch DDP's Reducer does). A bucket's sum starts (MPI_Iallreduce) as soon as
// backward has produced all of its gradients, so that it runs while the layers below are still
// differentiated; finish_gradient_sum() waits for the rest. Buckets are the same on every rank
// because the model is, and they start in the same order everywhere.
#include <optional>
#include <unordered_map>
#include <vector>

#include "core/timeline.h"
#include "core/trainer.h"
#include "dist/communicator.h"
#include "dist/compressed_sum.h"
#include "dist/exact_gradient_sum.h"

namespace shardnet::dist {

// Sums exact sums over ranks, in place: one MAX of their top bins (and of `stop_requested`), then
// one 64-bit integer sum of their limbs, so the result does not depend on the ranks' order or
// count. Returns whether any rank requested a stop.
bool sum_exact_over_ranks(const Communicator& comm, std::span<ExactSum* const> sums, bool stop_requested);

class GradientSync : public Collective {
 public:
  static constexpr size_t kDefaultBucketBytes = 4 << 20;

  // With `compression`, buckets travel as 16-bit floats with error feedback (dist/compressed_sum.h).
  explicit GradientSync(const Communicator& comm, size_t bucket_bytes = kDefaultBucketBytes,
                        std::optional<WireFormat> compression = std::nullopt);

  int rank() const override { return comm_.rank(); }
  int world_size() const override { return comm_.size(); }
  void begin_step(int64_t global_step) override { comm_.progress().step = global_step; }
  void start_gradient_sum(const std::vector<Param*>& params) override;
  void gradients_ready(std::span<Param* const> params) override;
  void finish_gradient_sum() override;
  void sum(std::span<double> values) override { comm_.allreduce_sum(values); }
  void sum_exact(std::span<ExactSum* const> sums) override { sum_exact_over_ranks(comm_, sums, false); }
  void exact_gradients_ready(std::span<Param* const> params) override;
  void finish_exact_gradient_sum(const std::vector<Param*>& params) override;
  void set_timeline(Timeline* timeline) override { timeline_ = timeline; }
  bool stop_agreed() const override { return comm_.size() == 1 ? local_stop_requested() : stop_agreed_; }

  // Seconds spent blocked in finish_gradient_sum() (the sums that did not hide behind backward),
  // and how many bucket sums were started, since construction.
  double wait_seconds() const { return wait_seconds_; }
  int64_t buckets_sent() const { return buckets_sent_; }
  size_t bucket_count() const { return buckets_.size(); }

 private:
  struct Bucket {
    std::vector<Param*> params;
    std::vector<float> values;
    size_t missing = 0;  // parameters whose gradients are not in `values` yet
    PendingSum sum;
    std::optional<CompressedSum> compressed;  // used instead of `sum` under compression
    Timeline::Clock::time_point started;

    // Whether the sum is done; a compressed one is only moved along here (its gather starts in
    // finish_gradient_sum, in bucket order on every rank).
    bool test() {
      if (!compressed) return sum.test();
      compressed->progress();
      return false;
    }
    void wait() { compressed ? compressed->wait() : sum.wait(); }
  };
  struct Slot {
    size_t bucket, offset;
  };

  // Groups consecutive parameters (in reverse order) into buckets.
  void plan_buckets(const std::vector<Param*>& params);
  void copy_in(const Param& param);
  // Starts every bucket, in order, whose gradients are all in; then lets MPI progress the rest.
  void start_ready_buckets();
  void record_done(size_t bucket);

  const Communicator& comm_;
  size_t bucket_bytes_;
  std::optional<WireFormat> compression_;
  std::vector<Bucket> buckets_;
  std::unordered_map<const Param*, Slot> slots_;
  std::vector<const Param*> planned_for_;
  size_t next_to_start_ = 0, next_to_finish_ = 0;
  Timeline* timeline_ = nullptr;
  double wait_seconds_ = 0.0;
  int64_t buckets_sent_ = 0;
  bool stop_agreed_ = false;
  // Exact mode: the last layer's tops being agreed, the integer sums in flight, and whether this
  // step's stop request was shared yet.
  struct ExactTops {
    std::vector<Param*> params;
    std::vector<int32_t> tops;  // one per parameter, then the stop request
    PendingMax max;
  };
  void start_agreed_exact_sums();
  std::optional<ExactTops> exact_tops_;
  std::vector<ExactGradientSum> exact_sums_;  // the first exact_started_ are this step's
  size_t exact_started_ = 0;
  bool exact_stop_shared_ = false;
};

// Makes every rank start from rank 0's parameters.
void broadcast_parameters(const Communicator& comm, const std::vector<Param*>& params);
// Everything a resumed run continues from, rank 0's to all: parameters, buffers, the optimizer's
// slots (created on the other ranks by the names and shapes rank 0 has) and its step count.
void broadcast_training_state(const Communicator& comm, Net& net, Optimizer& optimizer);

// Checks that all ranks agree on what they are about to train: each (name, value) pair is compared
// across ranks and a mismatch throws MpiError naming the ranks that differ from rank 0. Every rank
// calls this with the same names in the same order.
struct Fingerprint {
  std::string name;   // "model file", "parameter count", ...
  std::string value;  // rendered for the message; hashed for the comparison
};
void check_same_on_all_ranks(const Communicator& comm, const std::vector<Fingerprint>& items);

}  // namespace shardnet::dist
