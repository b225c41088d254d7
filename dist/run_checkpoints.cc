#include "dist/run_checkpoints.h"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "core/run_config.h"
#include "io/h5_handle.h"  // io::Hdf5Error

namespace shardnet::dist {
namespace {

// "line 3: '[dense] outputs = 10' in the checkpoint, '[dense] outputs = 12' now".
std::string first_difference(const std::string& saved, const std::string& current) {
  std::istringstream a(saved), b(current);
  std::string la, lb;
  for (int line = 1;; ++line) {
    const bool more_a = static_cast<bool>(std::getline(a, la)), more_b = static_cast<bool>(std::getline(b, lb));
    if (!more_a && !more_b) return "whitespace only";
    if (!more_a) la = "(end)";
    if (!more_b) lb = "(end)";
    if (la != lb || !more_a || !more_b) {
      return "line " + std::to_string(line) + ": '" + la + "' in the checkpoint, '" + lb + "' now";
    }
  }
}

// Every way the checkpoint's run differs from this one, or empty.
std::string conflicts_with(const io::CheckpointMeta& saved, const io::CheckpointMeta& run) {
  std::vector<std::string> conflicts;
  if (saved.model_text != run.model_text)
    conflicts.push_back("model: " + first_difference(saved.model_text, run.model_text));
  if (saved.run_config.empty()) {  // written before the run configuration was stored
    if (saved.global_batch != run.global_batch) {
      conflicts.push_back("batch: " + std::to_string(saved.global_batch) + " in the checkpoint, " +
                          std::to_string(run.global_batch) + " now");
    }
  } else {
    for (auto& c : resume_conflicts(saved.run_config, run.run_config)) conflicts.push_back(std::move(c));
  }
  std::string text;
  for (const auto& c : conflicts) text += (text.empty() ? "" : "; ") + c;
  return text;
}

}  // namespace

RunCheckpointer::RunCheckpointer(const Communicator& comm, Net& net, Optimizer& optimizer, io::CheckpointMeta base,
                                 std::string run_dir, int keep)
    : comm_(comm), net_(net), optimizer_(optimizer), base_(std::move(base)), run_dir_(std::move(run_dir)), keep_(keep) {
  if (keep_ < 1) throw std::invalid_argument("keep-checkpoints must be at least 1");
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
  last_path_ = path;
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

std::optional<ResumePoint> resume_from(const std::string& request, const std::string& run_dir,
                                       const io::CheckpointMeta& run, Net& net, Optimizer& optimizer,
                                       const std::function<void(const std::string&)>& warn) {
  const std::vector<std::string> candidates =
      request == "latest" ? io::list_checkpoints(run_dir) : std::vector<std::string>{request};
  for (size_t i = 0; i < candidates.size(); ++i) {
    const std::string& path = candidates[i];
    // The run is compared before any tensor is read: another model fails as what it is, not as a shape.
    auto check_run = [&](const io::CheckpointMeta& meta) {
      if (const std::string conflicts = conflicts_with(meta, run); !conflicts.empty()) {
        throw std::runtime_error(path + ": was saved by a different run; differing: " + conflicts +
                                 " (keep them to resume, or start afresh with --overwrite or another --run-dir)");
      }
    };
    try {
      check_run(io::read_checkpoint_meta(path));
      return ResumePoint{path, io::load_checkpoint(path, net, &optimizer)};
    } catch (const io::Hdf5Error& e) {  // unreadable: an older checkpoint may still be good
      if (i + 1 == candidates.size()) throw;
      if (warn) warn("cannot resume from " + path + " (" + e.what() + "); trying " + candidates[i + 1]);
    }
  }
  return std::nullopt;
}

bool publish_final_checkpoint(const std::string& run_dir) {
  const auto newest = io::list_checkpoints(run_dir);
  if (newest.empty()) return false;
  std::filesystem::copy_file(newest.front(), run_dir + "/final.h5.tmp",
                             std::filesystem::copy_options::overwrite_existing);
  io::publish_durably(run_dir + "/final.h5.tmp", run_dir + "/final.h5");
  return true;
}

std::vector<std::string> tidy_run_directory(const std::string& run_dir, std::optional<int64_t> resumed_step) {
  namespace fs = std::filesystem;
  std::vector<std::string> done;
  std::error_code ec;
  std::vector<fs::path> stale;
  for (const fs::path& dir : {fs::path(run_dir), fs::path(run_dir) / "checkpoints"}) {
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (entry.path().extension() == ".tmp") stale.push_back(entry.path());
    }
  }
  for (const auto& path : stale) {
    fs::remove(path, ec);
    done.push_back("removed " + path.string() + ", left by an interrupted write");
  }
  if (!resumed_step) return done;
  const fs::path aside = fs::path(run_dir) / "checkpoints" / ("abandoned-at-" + std::to_string(*resumed_step));
  for (const auto& path : io::list_checkpoints(run_dir)) {
    if (*io::checkpoint_step(path) <= *resumed_step) continue;  // listed: the name has a step
    fs::create_directories(aside);
    fs::rename(path, aside / fs::path(path).filename());
    done.push_back("moved " + path + " to " + aside.string() + ": it is after step " + std::to_string(*resumed_step) +
                   ", where this run resumes");
  }
  return done;
}

}  // namespace shardnet::dist
