#pragma once
// Reports training as it goes: a progress bar with ETA and throughput (when asked: stdout is a
// terminal), one line per epoch in any case; every epoch is also a row of `<run dir>/metrics.csv`.
#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "core/trainer.h"
#include "dist/communicator.h"

namespace shardnet::tools {

class ProgressReporter : public TrainObserver {
 public:
  // `enabled`: print and write at all (rank 0 only); `bar`: draw a progress bar between epoch lines.
  // `append`: add to an existing metrics.csv (a resumed run). `norm_layers`: the layers whose
  // gradient and weight norms the rows carry (--log-grad-norms), a column pair each.
  ProgressReporter(int64_t epochs, int64_t global_batch, const std::string& csv_path, bool enabled, bool bar,
                   bool append = false, std::vector<std::string> norm_layers = {});
  void on_step(const StepReport& step) override;
  // Also write the mean training loss of every `every` steps to `path` (step,epoch,lr,loss).
  void log_steps(const std::string& path, int64_t every, bool append);
  void on_epoch(const EpochReport& epoch) override;
  // Where the steps' time went so far, per step and in shares (this rank): data wait, forward,
  // backward, allreduce wait, optimizer. Empty before the first epoch ends.
  std::string phase_summary() const;

 private:
  int64_t epochs_, global_batch_;
  bool enabled_, terminal_;
  // Opens a CSV file and writes its header (with a column pair per layer of norm_layers_); a file
  // being continued must have the same header.
  void open_csv(std::ofstream& file, const std::string& path, bool append, std::string header);

  std::ofstream csv_, steps_csv_;
  std::vector<std::string> norm_layers_;
  std::vector<double> window_norms_;  // the window's sum of each layer's gradient norm
  int64_t log_every_ = 0;
  double window_loss_ = 0.0;
  int64_t window_count_ = 0;
  std::chrono::steady_clock::time_point epoch_start_, last_draw_;
  double running_loss_ = 0.0;
  int64_t running_count_ = 0;
  int64_t phase_steps_ = 0;
  double phase_seconds_[5] = {};
};

// What a run directory gets beyond metrics.csv, as the run goes (every rank calls on_epoch; rank 0
// writes): ranks.csv, each rank's phase seconds per epoch (gathered from all ranks), and
// report.html (io/run_report.h), rewritten at every epoch. Forwards every report to `progress`.
class RunDirectoryWriter : public TrainObserver {
 public:
  RunDirectoryWriter(ProgressReporter& progress, const dist::Communicator& comm, std::string run_dir, bool append);
  void on_step(const StepReport& step) override { progress_.on_step(step); }
  void on_epoch(const EpochReport& epoch) override;

 private:
  ProgressReporter& progress_;
  const dist::Communicator& comm_;
  std::string run_dir_;
  std::ofstream ranks_csv_;
};

// Writes the command line to <run dir>/command.txt; a resumed run (`append`) adds its own line.
void record_command(const std::string& run_dir, const std::string& command, bool append);

std::string format_duration(double seconds);  // "1:05" or "1:02:03"

}  // namespace shardnet::tools
