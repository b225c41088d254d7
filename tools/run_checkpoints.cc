#include "tools/run_checkpoints.h"

#include <chrono>
#include <cstdio>
#include <filesystem>

namespace shardnet::tools {

RunCheckpointer::RunCheckpointer(const dist::Communicator& comm, Net& net, Optimizer& optimizer,
                                 io::CheckpointMeta base, std::string run_dir, int keep)
    : comm_(comm), net_(net), optimizer_(optimizer), base_(std::move(base)), run_dir_(std::move(run_dir)), keep_(keep) {
  if (keep_ < 1) throw std::invalid_argument("--keep-checkpoints must be at least 1");
}

void RunCheckpointer::save(const TrainPosition& next) {
  if (comm_.rank() != 0) return;
  io::CheckpointMeta meta = base_;
  meta.epoch = next.epoch;
  meta.step = next.step;
  meta.global_step = next.global_step;
  const std::string path = io::checkpoint_path(run_dir_, next.global_step);
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  const auto start = std::chrono::steady_clock::now();
  io::save_checkpoint(path, net_, &optimizer_, meta);
  last_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  last_bytes_ = std::filesystem::file_size(path);
  ++written_;
  const auto all = io::list_checkpoints(run_dir_);
  for (size_t i = static_cast<size_t>(keep_); i < all.size(); ++i) std::filesystem::remove(all[i]);
}

std::string RunCheckpointer::summary() const {
  char text[128];
  std::snprintf(text, sizeof text, "%d checkpoint(s) written, the last %.1f MiB in %.0f ms", written_,
                static_cast<double>(last_bytes_) / (1 << 20), 1e3 * last_seconds_);
  return text;
}

bool resume_from(const std::string& request, const std::string& run_dir, const std::string& model_text,
                 int64_t global_batch, Net& net, Optimizer& optimizer, bool verbose, TrainPosition& position) {
  std::vector<std::string> candidates;
  if (request == "latest") {
    candidates = io::list_checkpoints(run_dir);
    if (candidates.empty()) {
      if (verbose) std::printf("resume: no checkpoint in %s/checkpoints yet: starting from scratch\n", run_dir.c_str());
      return false;
    }
  } else {
    candidates = {request};
  }
  for (size_t i = 0; i < candidates.size(); ++i) {
    const std::string& path = candidates[i];
    io::CheckpointMeta meta;
    try {
      meta = io::load_checkpoint(path, net, &optimizer);
    } catch (const std::exception& e) {
      if (i + 1 == candidates.size()) throw;  // nothing older to fall back to
      if (verbose) {
        std::fprintf(stderr, "shardnet train: warning: cannot resume from %s (%s); trying %s\n", path.c_str(),
                     e.what(), candidates[i + 1].c_str());
      }
      continue;
    }
    if (meta.model_text != model_text) {
      throw std::runtime_error(path + ": was saved from a different model file than the one given");
    }
    if (meta.global_batch != global_batch) {
      throw std::runtime_error(path + ": was saved with global batch " + std::to_string(meta.global_batch) +
                               ", this run uses " + std::to_string(global_batch) +
                               " (the batch fixes which rows each step takes; keep it to resume)");
    }
    position = TrainPosition{meta.epoch, meta.step, meta.global_step};
    if (verbose) {
      std::printf("resume: %s (epoch %lld, step %lld, %lld steps done, saved by %d rank(s))\n", path.c_str(),
                  static_cast<long long>(meta.epoch + 1), static_cast<long long>(meta.step),
                  static_cast<long long>(meta.global_step), meta.world_size);
    }
    return true;
  }
  return false;
}

}  // namespace shardnet::tools
