#pragma once
// Checkpointing of a training run: rank 0 writes <run dir>/checkpoints/checkpoint-<step>.h5 and keeps
// the newest `keep`; resuming finds the newest one that loads, warning about any that do not.
#include <string>

#include "core/trainer.h"
#include "dist/communicator.h"
#include "io/checkpoint.h"

namespace shardnet::tools {

class RunCheckpointer : public CheckpointSink {
 public:
  RunCheckpointer(const dist::Communicator& comm, Net& net, Optimizer& optimizer, io::CheckpointMeta base,
                  std::string run_dir, int keep);
  void save(const TrainPosition& next) override;
  // "N checkpoints written, the last X MiB in Y ms" (rank 0), for the end-of-run summary.
  std::string summary() const;

 private:
  const dist::Communicator& comm_;
  Net& net_;
  Optimizer& optimizer_;
  io::CheckpointMeta base_;
  std::string run_dir_;
  int keep_;
  int written_ = 0;
  double last_seconds_ = 0.0;
  uintmax_t last_bytes_ = 0;
};

// Loads `request` ("latest": the newest loadable checkpoint of `run_dir`, or none) into the net and
// optimizer and returns where to continue; checks the model text and the global batch against the
// run's. Returns false when "latest" found no checkpoint at all.
bool resume_from(const std::string& request, const std::string& run_dir, const std::string& model_text,
                 int64_t global_batch, Net& net, Optimizer& optimizer, bool verbose, TrainPosition& position);

}  // namespace shardnet::tools
