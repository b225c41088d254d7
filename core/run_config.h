#pragma once
// Everything that defines a training run, typed and validated once. It is written whole into
// every checkpoint (as `key = value` lines, the format of `train --config` files, so a
// checkpoint's run can be repeated) and compared whole on resume: the fields marked resumable may
// differ (how long to train, where to write, how fast to run), any other difference is an error
// naming the field and both values.
#include <cstdint>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/optimizer.h"
#include "core/trainer.h"

namespace shardnet {

// How gradients travel between ranks: float32, or rounded to a 16-bit float (with error feedback).
enum class GradCompression { kNone, kBf16, kFp16 };
std::ostream& operator<<(std::ostream& out, GradCompression value);
std::istream& operator>>(std::istream& in, GradCompression& value);  // throws for an unknown name

struct RunConfig {
  // What is trained on what. The model and data are compared by content on resume (model_text,
  // data_description), not by path: a moved file is the same run.
  std::string model_path;
  std::string data_path;
  std::optional<std::string> test_path;
  std::string run_dir = "runs/latest";

  TrainOptions train;  // epochs, batch, seed, schedule, clipping, checkpoint interval
  OptimizerConfig optimizer;
  double val_fraction = 0.0;  // held-out share of the training data, scored after each epoch
  int patience = 0;           // early stopping: epochs without improvement (0: never)

  // How the run is carried out, not what it computes.
  int64_t log_every = 0;   // steps per row of steps.csv (0: off)
  int threads = 0;         // compute threads (0: OPENBLAS_NUM_THREADS or all cores)
  double bucket_mb = 4.0;  // gradient allreduce bucket size
  GradCompression grad_compression = GradCompression::kNone;
  int keep_checkpoints = 3;
  // The stall inspector (dist/stall_inspector.h): seconds a rank may lag the others before it is
  // reported, and before the job is ended (0: never).
  double stall_warning = 60.0;
  double stall_timeout = 600.0;
  std::optional<std::string> timeline_path;
  std::optional<std::string> resume;  // a checkpoint file, or "latest"
  bool overwrite = false;             // delete an earlier run's checkpoints in run_dir

  // Throws std::invalid_argument naming the field (its key) and what is wrong.
  void validate() const;

  struct Field {
    std::string key;    // as in --config files and flags
    std::string value;  // as text
    bool resumable;     // may differ between a checkpoint's run and the run resuming it
  };
  // Every field, in a fixed order.
  std::vector<Field> fields() const;
};

// The `key = value` lines of `config.fields()` (plus the content fields given), as stored in checkpoints.
std::string run_config_text(const RunConfig& config, const std::vector<RunConfig::Field>& extra = {});
std::map<std::string, std::string> parse_run_config_text(const std::string& text);

// The fields of `saved` (a checkpoint's run_config_text) that `current` may not change, with both
// values: "seed: 1 in the checkpoint, 2 now". Empty when the run may resume.
std::vector<std::string> resume_conflicts(const std::string& saved, const std::string& current);

}  // namespace shardnet
