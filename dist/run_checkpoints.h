#pragma once
// Checkpointing of a training run: rank 0 writes <run dir>/checkpoints/checkpoint-<step>.h5 and keeps
// the newest `keep`; resuming finds the newest one that loads, warning about any that do not, and
// refuses one whose run differs from this one in anything but the resumable fields.
#include <functional>
#include <optional>
#include <string>

#include "core/trainer.h"
#include "dist/communicator.h"
#include "io/checkpoint.h"

namespace shardnet::dist {

class RunCheckpointer : public CheckpointSink {
 public:
  RunCheckpointer(const Communicator& comm, Net& net, Optimizer& optimizer, io::CheckpointMeta base,
                  std::string run_dir, int keep);
  void save(const TrainPosition& next) override;
  // "N checkpoints written, the last X MiB in Y ms" (rank 0), for the end-of-run summary.
  std::string summary() const;
  // The checkpoint written last by this process (empty on ranks other than 0, and before any).
  const std::string& last_path() const { return last_path_; }

 private:
  const Communicator& comm_;
  Net& net_;
  Optimizer& optimizer_;
  io::CheckpointMeta base_;
  std::string run_dir_;
  int keep_;
  std::string last_path_;
  int written_ = 0;
  double last_seconds_ = 0.0;
  uintmax_t last_bytes_ = 0;
};

struct ResumePoint {
  std::string path;
  io::CheckpointMeta meta;
  TrainPosition position() const { return TrainPosition{meta.epoch, meta.step, meta.global_step}; }
};

// Loads `request` (a file, or "latest": the newest loadable checkpoint of `run_dir`) into the net
// and optimizer. `run` is this run's (model text, run config text); a checkpoint of another run
// (any non-resumable field or the model differs) throws, naming every differing field with both
// values. Returns nullopt when "latest" found no checkpoint. `warn` receives fallbacks past
// unreadable files.
std::optional<ResumePoint> resume_from(const std::string& request, const std::string& run_dir,
                                       const io::CheckpointMeta& run, Net& net, Optimizer& optimizer,
                                       const std::function<void(const std::string&)>& warn);

// The newest checkpoint of `run_dir` copied to <run_dir>/final.h5 (atomically and durably); false
// without one.
bool publish_final_checkpoint(const std::string& run_dir);

// Rank 0, before a run writes its first checkpoint: removes what a crashed write left (*.tmp), and
// when the run resumes from step `resumed_step`, moves the checkpoints after it (a branch the
// resumed run abandons) to checkpoints/abandoned-at-<step>/, so that neither the keep-newest
// pruning nor a later --resume takes them for this run's. Returns a line per thing done.
std::vector<std::string> tidy_run_directory(const std::string& run_dir, std::optional<int64_t> resumed_step);

}  // namespace shardnet::dist
