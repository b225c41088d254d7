#include "tools/progress.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include "io/run_report.h"

namespace shardnet::tools {
namespace {
using Clock = std::chrono::steady_clock;
}

std::string format_duration(double seconds) {
  const long s = std::lround(std::max(seconds, 0.0));
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  }
  return buf;
}

ProgressReporter::ProgressReporter(int64_t epochs, int64_t global_batch, const std::string& csv_path, bool enabled,
                                   bool bar, bool append, std::vector<std::string> norm_layers)
    : epochs_(epochs),
      global_batch_(global_batch),
      enabled_(enabled),
      terminal_(enabled && bar),
      norm_layers_(std::move(norm_layers)) {
  if (enabled_ && !csv_path.empty()) {
    open_csv(csv_, csv_path, append,
             "epoch,steps,lr,train_loss,train_accuracy,test_loss,test_accuracy,seconds,samples_per_second,"
             "data_wait_seconds,val_loss,val_accuracy,forward_seconds,backward_seconds,sync_wait_seconds,"
             "optimizer_seconds");
  }
  epoch_start_ = last_draw_ = Clock::now();
}

void ProgressReporter::log_steps(const std::string& path, int64_t every, bool append) {
  if (!enabled_ || every <= 0) return;
  open_csv(steps_csv_, path, append, "step,epoch,lr,loss");
  log_every_ = every;
  window_norms_.assign(norm_layers_.size(), 0.0);
}

void ProgressReporter::open_csv(std::ofstream& file, const std::string& path, bool append, std::string header) {
  for (const std::string& layer : norm_layers_) header += ",grad_norm/" + layer + ",weight_norm/" + layer;
  const bool continuing = append && std::filesystem::exists(path);
  if (continuing) {
    std::ifstream existing(path);
    std::string first_line;
    std::getline(existing, first_line);
    if (first_line != header) {
      throw std::runtime_error(
          path + ": its columns differ from this run's (" +
          (norm_layers_.empty() ? "it was written with --log-grad-norms" : "add --log-grad-norms only to a new run") +
          "): resume with the same logging flags");
    }
  }
  file.open(path, continuing ? std::ios::app : std::ios::trunc);
  if (!file) throw std::runtime_error(path + ": cannot write the file");
  if (!continuing) file << header << '\n' << std::flush;
}

void ProgressReporter::on_step(const StepReport& step) {
  if (log_every_ > 0) {
    window_loss_ += step.loss;
    for (size_t i = 0; i < window_norms_.size() && i < step.layer_norms.size(); ++i)
      window_norms_[i] += step.layer_norms[i].gradient;
    if (++window_count_ == log_every_) {
      const auto count = static_cast<double>(window_count_);
      steps_csv_ << step.global_step << ',' << step.epoch + 1 << ',' << step.lr << ',' << window_loss_ / count;
      // The window's mean gradient norm, and the weight norm at its last step.
      for (size_t i = 0; i < window_norms_.size() && i < step.layer_norms.size(); ++i) {
        steps_csv_ << ',' << window_norms_[i] / count << ',' << step.layer_norms[i].weight;
        window_norms_[i] = 0.0;
      }
      steps_csv_ << '\n';
      window_loss_ = 0.0;
      window_count_ = 0;
    }
  }
  if (step.step == 0) {
    running_loss_ = 0.0;
    running_count_ = 0;
  }
  running_loss_ += step.loss;
  ++running_count_;
  if (!terminal_) return;
  const auto now = Clock::now();
  const bool last = step.step + 1 == step.steps_per_epoch;
  if (!last && now - last_draw_ < std::chrono::milliseconds(200)) return;
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - epoch_start_).count();
  const double done = static_cast<double>(step.step + 1) / static_cast<double>(step.steps_per_epoch);
  const double rate = static_cast<double>((step.step + 1) * global_batch_) / std::max(elapsed, 1e-9);
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(done * kWidth);
  std::string bar(static_cast<size_t>(filled), '=');
  if (filled < kWidth) bar += '>' + std::string(static_cast<size_t>(kWidth - filled - 1), ' ');
  std::printf("\repoch %lld/%lld [%s] %3.0f%% loss %.4f %6.0f samples/s ETA %s   ",
              static_cast<long long>(step.epoch + 1), static_cast<long long>(epochs_), bar.c_str(), 100.0 * done,
              running_loss_ / static_cast<double>(running_count_), rate,
              format_duration(elapsed / done - elapsed).c_str());
  std::fflush(stdout);
}

void ProgressReporter::on_epoch(const EpochReport& e) {
  if (!enabled_) return;
  if (terminal_) std::printf("\r\033[K");
  std::printf("epoch %lld/%lld  loss %.4f", static_cast<long long>(e.epoch + 1), static_cast<long long>(epochs_),
              e.train_loss);
  if (!std::isnan(e.train_accuracy)) std::printf("  acc %.2f%%", 100.0 * e.train_accuracy);
  if (!std::isnan(e.val_loss)) std::printf("  val loss %.4f", e.val_loss);
  if (!std::isnan(e.val_accuracy)) std::printf("  val acc %.2f%%", 100.0 * e.val_accuracy);
  if (!std::isnan(e.test_loss)) std::printf("  test loss %.4f", e.test_loss);
  if (!std::isnan(e.test_accuracy)) std::printf("  test acc %.2f%%", 100.0 * e.test_accuracy);
  std::printf("  lr %.3g  %.0f samples/s  %s\n", e.lr, e.samples_per_second, format_duration(e.seconds).c_str());
  if (e.stopped_early) std::printf("early stopping: the validation loss has not improved for the last epochs\n");
  std::fflush(stdout);
  if (csv_.is_open()) {
    csv_ << e.epoch + 1 << ',' << e.steps << ',' << e.lr << ',' << e.train_loss << ',' << e.train_accuracy << ','
         << e.test_loss << ',' << e.test_accuracy << ',' << e.seconds << ',' << e.samples_per_second << ','
         << e.data_wait_seconds << ',' << e.val_loss << ',' << e.val_accuracy << ',' << e.forward_seconds << ','
         << e.backward_seconds << ',' << e.sync_wait_seconds << ',' << e.optimizer_seconds;
    for (const LayerNorms& n : e.layer_norms) csv_ << ',' << n.gradient << ',' << n.weight;
    csv_ << '\n';
    csv_.flush();
    if (steps_csv_.is_open()) steps_csv_.flush();  // the report drawn after this epoch reads both
  }
  epoch_start_ = Clock::now();  // the next epoch starts now (evaluation is done)
  phase_steps_ += e.steps;
  phase_seconds_[0] += e.data_wait_seconds;
  phase_seconds_[1] += e.forward_seconds;
  phase_seconds_[2] += e.backward_seconds;
  phase_seconds_[3] += e.sync_wait_seconds;
  phase_seconds_[4] += e.optimizer_seconds;
}

std::string ProgressReporter::phase_summary() const {
  if (phase_steps_ == 0) return "";
  static const char* const kNames[] = {"data wait", "forward", "backward", "allreduce wait", "optimizer"};
  double total = 0.0;
  for (double s : phase_seconds_) total += s;
  std::string out =
      "time per step " + std::to_string(1e3 * total / static_cast<double>(phase_steps_)).substr(0, 6) + " ms:";
  char part[96];
  for (size_t i = 0; i < std::size(kNames); ++i) {
    std::snprintf(part, sizeof part, "%s %s %.2f ms (%.1f%%)", i ? "," : "", kNames[i],
                  1e3 * phase_seconds_[i] / static_cast<double>(phase_steps_),
                  100.0 * phase_seconds_[i] / std::max(total, 1e-12));
    out += part;
  }
  return out;
}

RunDirectoryWriter::RunDirectoryWriter(ProgressReporter& progress, const dist::Communicator& comm, std::string run_dir,
                                       bool append)
    : progress_(progress), comm_(comm), run_dir_(std::move(run_dir)) {
  if (comm_.rank() != 0) return;
  const std::string path = run_dir_ + "/ranks.csv";
  const bool continuing = append && std::filesystem::exists(path);
  ranks_csv_.open(path, continuing ? std::ios::app : std::ios::trunc);
  if (!ranks_csv_) throw std::runtime_error(path + ": cannot be written");
  if (!continuing) {
    ranks_csv_ << "epoch,rank,seconds,data_wait_seconds,forward_seconds,backward_seconds,sync_wait_seconds,"
                  "optimizer_seconds\n"
               << std::flush;
  }
}

void RunDirectoryWriter::on_epoch(const EpochReport& e) {
  progress_.on_epoch(e);
  char row[256];
  std::snprintf(row, sizeof row, "%.6g,%.6g,%.6g,%.6g,%.6g,%.6g", e.seconds, e.data_wait_seconds, e.forward_seconds,
                e.backward_seconds, e.sync_wait_seconds, e.optimizer_seconds);
  const auto rows = comm_.gather(row, 0);  // every rank's phases, on rank 0
  if (comm_.rank() != 0) return;
  for (size_t r = 0; r < rows.size(); ++r) ranks_csv_ << e.epoch + 1 << ',' << r << ',' << rows[r] << '\n';
  ranks_csv_.flush();
  io::write_run_report({run_dir_}, run_dir_ + "/report.html", run_dir_);
}

void record_command(const std::string& run_dir, const std::string& command, bool append) {
  std::ofstream out(run_dir + "/command.txt", append ? std::ios::app : std::ios::trunc);
  if (!out || !(out << command << '\n')) throw std::runtime_error(run_dir + "/command.txt: cannot be written");
}

}  // namespace shardnet::tools
