#pragma once
// The training loop, written against small interfaces so the same loop runs in a unit test (an
// in-memory source, one process), a single-process run (HDF5 source) and an MPI job (dist's
// Collective): data comes from a BatchSource, gradients and metrics are combined by a Collective.
#include <cstdint>
#include <functional>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/background_task.h"
#include "core/batch.h"
#include "core/batch_source.h"
#include "core/collective.h"
#include "core/gemm.h"
#include "core/lookahead.h"
#include "core/lr_schedule.h"
#include "core/net.h"
#include "core/optimizer.h"
#include "core/shard_sampler.h"
#include "core/timeline.h"

namespace shardnet {

// Where a run stands: the next step to take (step within its epoch, and steps taken in all).
struct TrainPosition {
  int64_t epoch = 0, step = 0, global_step = 0;
};

// Receives the moments to checkpoint. Every rank calls save() at the same points (implementations
// decide which rank writes); `next` is the position a resumed run starts from.
class CheckpointSink {
 public:
  virtual ~CheckpointSink() = default;
  virtual void save(const TrainPosition& next) = 0;
};

// Exact mode's samples per grain unless told otherwise: batches of 16 x 2^k split evenly over
// 1, 2, 4, ... ranks, and 96 over 1, 2, 3 and 6.
constexpr int64_t kDefaultExactGrain = 16;

struct TrainOptions {
  int64_t epochs = 1;
  int64_t global_batch = 64;
  int64_t max_steps = 0;  // stop after this many steps in all (0: run all epochs)
  uint64_t seed = 1;
  LrSchedule lr;
  int64_t eval_batch = 500;
  int64_t checkpoint_every = 0;  // steps between checkpoints (0: only at epoch ends and at the stop)
  float clip_norm = 0.0f;        // rescale the summed gradient to at most this global L2 norm (0: off)
  // Exact mode (train --exact): samples per grain, 0 when off. Every sum over samples runs grain by
  // grain into exact sums (core/exact_sum.h), so the run is bitwise the same at any rank count that
  // gives every rank whole grains: the global batch must be a multiple of grain x ranks.
  int64_t exact_grain = 0;
  // Each layer's gradient and weight L2 norms after every step's gradient sum (Nielsen's learning
  // speed per layer): in StepReport and, averaged over the epoch's steps, in EpochReport.
  bool log_grad_norms = false;
  // The arithmetic of the layers' GEMMs in forward and backward (and evaluation): bf16 rounds their
  // operands and accumulates in float32; weights, optimizer state, loss and gradient sums stay float32.
  Precision precision = Precision::kFp32;
  // Slow weights that follow the trained ones every k steps (core/lookahead.h); off by default.
  LookaheadConfig lookahead;
};

// One layer's (all its parameters') L2 norms: of the summed gradient of the mean loss, before
// clipping, and of the weights the step started from.
struct LayerNorms {
  std::string layer;
  double gradient = 0.0, weight = 0.0;
};
// The layers log_grad_norms reports, in order: those with parameters.
std::vector<std::string> layers_with_params(Net& net);

struct StepReport {
  int64_t epoch = 0, step = 0, steps_per_epoch = 0, global_step = 0;
  double loss = 0.0;  // mean loss of this rank's slice of the batch
  float lr = 0.0f;
  std::span<const LayerNorms> layer_norms;  // with TrainOptions::log_grad_norms: the layers with parameters
};

struct EpochReport {
  int64_t epoch = 0, steps = 0;
  double train_loss = 0.0, train_accuracy = 0.0;  // over all ranks' batches of the epoch
  double test_loss = std::numeric_limits<double>::quiet_NaN();
  double test_accuracy = std::numeric_limits<double>::quiet_NaN();
  double val_loss = std::numeric_limits<double>::quiet_NaN();
  double val_accuracy = std::numeric_limits<double>::quiet_NaN();
  bool stopped_early = false;       // the validation loss has not improved for `patience` epochs
  double seconds = 0.0;             // training time of the epoch, evaluation excluded
  double samples_per_second = 0.0;  // global samples trained per second
  // Where the epoch's training time went (this rank): waiting for the next batch, forward,
  // backward, waiting for the gradient sums that did not finish during backward, optimizer.
  double data_wait_seconds = 0.0, forward_seconds = 0.0, backward_seconds = 0.0;
  double sync_wait_seconds = 0.0, optimizer_seconds = 0.0;
  float lr = 0.0f;
  // With TrainOptions::log_grad_norms: per layer with parameters, the mean over the epoch's steps.
  std::vector<LayerNorms> layer_norms;
};

class TrainObserver {
 public:
  virtual ~TrainObserver() = default;
  virtual void on_step(const StepReport&) {}
  virtual void on_epoch(const EpochReport&) {}
};

void clip_gradients(const std::vector<Param*>& params, float max_norm);

// Scores `source` (this rank's contiguous share of it), summed over ranks. With `flip_average`,
// image inputs (C, H, W) are also run mirrored left-right and the two outputs averaged before the
// loss (test-time augmentation).
LossStats evaluate(Net& net, BatchSource& source, int64_t batch_size, Collective& collective,
                   bool flip_average = false);

// Scores an ensemble on `source` as evaluate() scores one net: members that end in
// softmax_cross_entropy average their class probabilities (the loss is then the negative log of the
// averaged probability of the label), others average their outputs before the first member's loss.
// Every member takes the same input and gives outputs of the same shape (else
// std::invalid_argument); exact mode uses the first member's grain.
LossStats evaluate_ensemble(std::span<Net* const> members, BatchSource& source, int64_t batch_size,
                            Collective& collective, bool flip_average = false);

// Sums one rank's figures over the ranks; the loss through its exact sum, so that the total does
// not depend on how the samples were split.
LossStats sum_over_ranks(const LossStats& local, Collective& collective);

// Where one step's time went (seconds), as fit() reports it per epoch.
struct StepTimes {
  double forward = 0.0, backward = 0.0, sync_wait = 0.0, optimizer = 0.0;
};

// Thrown by Trainer::step when the loss is not finite (nothing was updated).
class DivergedError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The batches of one fit() and the thread that reads the next one while this one trains. A local
// of fit(), declared after what its jobs refer to: however fit() ends (an exception included),
// the reader is waited for before those go away.
struct BatchReader {
  Batch buffers[2];
  BackgroundTask task;
};

// How fit() ended.
enum class FitEnd {
  kFinished,       // the configured epochs or max-steps were trained, or early stopping ended it
  kStopRequested,  // a rank was asked to stop (Collective::stop_agreed); checkpointed where it stopped
};

class Trainer {
 public:
  Trainer(Net& net, Optimizer& optimizer, Collective& collective, const TrainOptions& options);
  // One training step on this rank's slice `batch` of a global batch of options.global_batch:
  // forward and loss, backward with each layer's gradient sum started as soon as it is final,
  // the wait for the sums, clipping, the optimizer with learning rate `lr`. Adds the phase times
  // to `times` when given.
  LossStats step(const Batch& batch, float lr, StepTimes* times = nullptr);
  // Trains on `train` from `start`; after each epoch evaluates on `test` when it is not null. With
  // a sink, checkpoints every options.checkpoint_every steps, at each epoch end and where it stops.
  // A stop agreed by the ranks ends it after that step (the epoch's scores are left to the resumed
  // run unless the epoch was complete).
  FitEnd fit(BatchSource& train, BatchSource* test, TrainObserver& observer, TrainPosition start = {},
             CheckpointSink* sink = nullptr);
  // Scores `validation` after each epoch; with patience > 0, stops when its loss has not improved
  // (dropped by more than 1e-4 relative to the best so far) for that many epochs.
  void set_validation(BatchSource* validation, int patience) {
    validation_ = validation;
    patience_ = patience;
  }
  // Records each step's phases (and, through the collective, each gradient bucket's sum) there.
  void set_timeline(Timeline* timeline) {
    timeline_ = timeline;
    collective_.set_timeline(timeline);
  }
  // Where the last fit() ended: the next step a resumed run takes.
  const TrainPosition& end_position() const { return end_position_; }

 private:
  void checkpoint(CheckpointSink* sink, const TrainPosition& next);
  bool step_limit_reached(int64_t global_step) const;
  // Trains from `at` to the epoch's end or the step limit, advancing `at`; the epoch's training
  // figures summed over the ranks.
  EpochReport train_epoch(BatchSource& train, const ShardSampler& sampler, TrainPosition& at, TrainObserver& observer,
                          CheckpointSink* sink, BatchReader& reader);
  // Adds the test and validation scores; sets stopped_early when patience ran out.
  void score_epoch(BatchSource* test, EpochReport& report);

  // Fills step_norms_ from the summed gradients (log_grad_norms).
  void measure_layer_norms();

  std::vector<Param*> params_;
  std::vector<std::vector<Param*>> layer_params_;
  std::vector<LayerNorms> step_norms_;

  Net& net_;
  Optimizer& optimizer_;
  Collective& collective_;
  TrainOptions options_;
  Lookahead lookahead_;
  // The steps of the run fit() trains, for the lookahead ramp (step() alone: max_steps, or 0 when unknown).
  int64_t total_steps_ = 0;
  BatchSource* validation_ = nullptr;
  int patience_ = 0;
  Timeline* timeline_ = nullptr;
  TrainPosition end_position_;
  bool stop_agreed_ = false;
  double best_val_loss_ = 0.0;
  int epochs_without_improvement_ = 0;
};

}  // namespace shardnet
