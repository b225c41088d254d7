#pragma once
// A whole training run behind one small API, the same on one process and on N MPI ranks: reads the
// model and the data, checks that they fit each other and agree on every rank, resumes from a
// checkpoint or initialises (rank 0's parameters broadcast), trains with bucketed gradient sums,
// checkpoints, and publishes <run dir>/final.h5. `shardnet train` is flag parsing around it.
//
//   shardnet::dist::Communicator comm;                 // MPI when under a launcher
//   shardnet::RunConfig config;
//   config.model_path = "cnn.cfg";
//   config.data_path = "mnist-train.h5";
//   shardnet::dist::TrainingRun run(comm, config);
//   MyObserver observer;                               // a TrainObserver: per step and epoch
//   run.train(observer);
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/run_config.h"
#include "core/subset_source.h"
#include "core/timeline.h"
#include "core/trainer.h"
#include "dist/communicator.h"
#include "dist/gradient_sync.h"
#include "dist/run_checkpoints.h"
#include "dist/stall_inspector.h"
#include "io/dataset.h"

namespace shardnet::dist {

class TrainingRun {
 public:
  // Lines worth telling the user (rank 0 only): the validation split, the resume point, fallbacks.
  using Log = std::function<void(const std::string&)>;

  // Everything up to the first step. Throws with the file, field or rank that is wrong.
  TrainingRun(const Communicator& comm, RunConfig config, Log log = {});

  // Trains to the configured end (epochs, max-steps or early stopping); checkpoints at each epoch
  // end, every checkpoint-every steps and where it stops; rank 0 then copies the newest to final.h5.
  // Returns kStopRequested when a rank's stop flag ended it early (checkpointed, final.h5 not
  // written: the run is not finished).
  FitEnd train(TrainObserver& observer);
  // A flag (a signal handler's: StopSignals::flag()) that asks the run to stop at the next step
  // boundary all ranks agree on.
  void watch_stop_flag(const std::atomic<int>* flag) { sync_->watch_stop_flag(flag); }
  // Scores the test set on all ranks (throws without one).
  LossStats evaluate_test();

  const RunConfig& config() const { return config_; }
  const std::string& model_text() const { return model_text_; }
  Net& net() { return *net_; }
  Optimizer& optimizer() { return *optimizer_; }
  Trainer& trainer() { return *trainer_; }
  const io::Dataset& training_data() const { return *train_data_; }
  bool has_test_data() const { return test_data_ != nullptr; }
  // Set when the run continues a checkpoint.
  const std::optional<ResumePoint>& resumed_from() const { return resumed_; }
  std::string checkpoint_summary() const { return checkpointer_->summary(); }
  // After train(): the position it ended at, and the checkpoint rank 0 wrote last there.
  const TrainPosition& end_position() const { return trainer_->end_position(); }
  const std::string& last_checkpoint() const { return checkpointer_->last_path(); }
  size_t bucket_count() const { return sync_->bucket_count(); }
  // After train(): rank 0 wrote the Chrome trace of all ranks (when a timeline was asked for).
  size_t timeline_events() const { return timeline_ ? timeline_->size() : 0; }
  // After train(): rank 0 copied the newest checkpoint to <run dir>/final.h5.
  bool published_final() const { return published_final_; }

 private:
  // What every checkpoint of this run records, and what a resume is compared with.
  io::CheckpointMeta run_meta() const;
  void load_data();
  void resume_or_initialize();
  // Exact mode: says so, and warns when ranks, or the checkpoint resumed, ran another BLAS kernel.
  void report_exact_mode_kernels();
  static constexpr const char* kExactKernelKey = "blas-kernel";
  // Rank 0's resume decision (and then its state) to every rank.
  void share_resume_point();
  void start_timeline();

  const Communicator& comm_;
  RunConfig config_;
  Log log_;
  // First made and last destroyed: it watches everything else, the data's opening included.
  std::unique_ptr<StallInspector> stall_inspector_;
  std::string model_text_;
  std::unique_ptr<Net> net_;
  std::unique_ptr<io::Dataset> train_data_, test_data_;
  std::unique_ptr<SubsetSource> train_part_, validation_part_;
  BatchSource* train_source_ = nullptr;
  std::unique_ptr<Optimizer> optimizer_;
  std::optional<ResumePoint> resumed_;
  std::unique_ptr<GradientSync> sync_;
  std::unique_ptr<Trainer> trainer_;
  std::unique_ptr<Timeline> timeline_;
  std::unique_ptr<RunCheckpointer> checkpointer_;
  bool published_final_ = false;
};

// "60000 x (1, 28, 28) uint8, 10 classes": what must agree across ranks and across a resume.
std::string describe_dataset(const io::Dataset& data);

}  // namespace shardnet::dist
