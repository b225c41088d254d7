#pragma once
#include <atomic>
#include <cstdint>
#include <span>
#include <vector>

#include "core/layer.h"

namespace shardnet {

class Timeline;

// How ranks combine results. The default is one process: nothing to combine.
//
// Gradients are summed in three calls so that communication can overlap the backward pass:
// start_gradient_sum() before backward, gradients_ready() as each layer's backward has written its
// parameters' gradients (last layer first), finish_gradient_sum() before the optimizer reads them.
// Each rank's gradients are already scaled by 1 / global batch.
class Collective {
 public:
  virtual ~Collective() = default;
  virtual int rank() const { return 0; }
  virtual int world_size() const { return 1; }
  // The training step this rank is about to take (its global step), for progress reports.
  virtual void begin_step(int64_t global_step) {}
  virtual void start_gradient_sum(const std::vector<Param*>& params) {}
  virtual void gradients_ready(std::span<Param* const> params) {}
  virtual void finish_gradient_sum() {}
  // Element-wise sum over ranks, in place.
  virtual void sum(std::span<double> values) {}
  // Exact mode: replaces each exact sum by its sum over ranks, in place (core/exact_sum.h).
  virtual void sum_exact(std::span<ExactSum* const> sums) {}
  // Exact mode's gradient sum, instead of the three calls above: exact_gradients_ready() as each
  // layer's backward has finished its parameters' grain sums (Param::grain_sum, last layer first),
  // finish_exact_gradient_sum() before the gradients are read. The grain sums are summed over
  // ranks exactly; the stop request rides along as it does in finish_gradient_sum().
  virtual void exact_gradients_ready(std::span<Param* const> params) {}
  // Writes every parameter's gradient: its grain sum (over all ranks) rounded to float.
  virtual void finish_exact_gradient_sum(const std::vector<Param*>& params) {
    for (Param* p : params) p->grain_sum.result(p->grad.span());
  }
  // Where to record communication spans; null: nowhere.
  virtual void set_timeline(Timeline* timeline) {}

  // This process's stop requests (a signal handler's flag, 0: none), to be honoured at a step
  // boundary that all ranks agree on. Null: never stop.
  void watch_stop_flag(const std::atomic<int>* flag) { stop_flag_ = flag; }
  // After finish_gradient_sum(): whether any rank's flag was raised by the time its sums of this
  // step began. Every rank gets the same answer after the same step.
  virtual bool stop_agreed() const { return local_stop_requested(); }

  // All three steps at once, for gradients that are all ready.
  void sum_gradients(const std::vector<Param*>& params) {
    start_gradient_sum(params);
    gradients_ready(params);
    finish_gradient_sum();
  }

 protected:
  bool local_stop_requested() const {
    return stop_flag_ != nullptr && stop_flag_->load(std::memory_order_relaxed) != 0;
  }

 private:
  const std::atomic<int>* stop_flag_ = nullptr;
};

}  // namespace shardnet
