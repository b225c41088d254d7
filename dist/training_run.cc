#include "dist/training_run.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/blas_kernel.h"
#include "core/gemm.h"
#include "core/model_file.h"
#include "io/dataset_writer.h"

namespace shardnet::dist {
namespace {
// Rows a data-initialised layer (a whitening conv) reads.
constexpr int64_t kInitializationSamples = 5000;
}  // namespace

std::string describe_dataset(const io::Dataset& data) {
  return std::to_string(data.size()) + " x " + shape_string(data.sample_shape()) + " " +
         io::element_type_name(data.data_type()) +
         (data.has_class_labels() ? ", " + std::to_string(data.num_classes()) + " classes"
                                  : ", targets " + shape_string(data.target_shape()));
}

TrainingRun::TrainingRun(const Communicator& comm, RunConfig config, Log log)
    : comm_(comm), config_(std::move(config)), log_(std::move(log)) {
  config_.validate();
  if (comm_.rank() != 0) log_ = nullptr;
  stall_inspector_ = std::make_unique<StallInspector>(comm_, StallLimits{config_.stall_warning, config_.stall_timeout});
  set_threads(config_.threads);
  load_data();
  // The model's `auto` sizes come from the training data; the resolved text is what the run's
  // model.cfg, its checkpoints and a resume's comparison hold.
  model_text_ = resolve_data_sizes(read_text_file(config_.model_path), config_.model_path, train_data_->description());
  net_ = parse_model(model_text_, config_.model_path);
  net_->check_data(train_data_->description(), config_.model_path);
  if (test_data_) net_->check_data(test_data_->description(), config_.model_path);
  optimizer_ = make_optimizer(config_.optimizer);
  check_same_on_all_ranks(comm_, {{"model file", model_text_},
                                  {"parameter count", std::to_string(net_->param_count())},
                                  {"training data", describe_dataset(*train_data_)},
                                  {"test data", test_data_ ? describe_dataset(*test_data_) : "none"},
                                  {"run configuration", run_config_text(config_)}});
  resume_or_initialize();
  if (config_.train.exact_grain > 0) report_exact_mode_kernels();
  if (comm_.rank() == 0) {
    std::filesystem::create_directories(config_.run_dir);
    std::ofstream(config_.run_dir + "/model.cfg") << model_text_;
  }
  std::optional<WireFormat> wire;
  if (config_.grad_compression == GradCompression::kBf16) wire = WireFormat::kBf16;
  if (config_.grad_compression == GradCompression::kFp16) wire = WireFormat::kFp16;
  sync_ = std::make_unique<GradientSync>(comm_, static_cast<size_t>(config_.bucket_mb * (1 << 20)), wire);
  trainer_ = std::make_unique<Trainer>(*net_, *optimizer_, *sync_, config_.train);
  if (validation_part_) trainer_->set_validation(validation_part_.get(), config_.patience);
  if (config_.timeline_path) start_timeline();
  checkpointer_ = std::make_unique<RunCheckpointer>(comm_, *net_, *optimizer_, run_meta(), config_.run_dir,
                                                    config_.keep_checkpoints);
}

io::CheckpointMeta TrainingRun::run_meta() const {
  io::CheckpointMeta meta;
  meta.model_text = model_text_;
  meta.global_batch = config_.train.global_batch;
  meta.seed = config_.train.seed;
  meta.world_size = comm_.size();
  meta.preprocessing = io::read_data_preprocessing(*train_data_);
  // The training data by content: a moved file is the same run, another data set is not.
  std::vector<RunConfig::Field> extra = {{"training data", describe_dataset(*train_data_), false}};
  // Exact mode's bits depend on the BLAS kernel: a resume on another one is reported, not refused.
  if (config_.train.exact_grain > 0) extra.push_back({kExactKernelKey, blas_info().corename, true});
  meta.run_config = run_config_text(config_, extra);
  return meta;
}

void TrainingRun::report_exact_mode_kernels() {
  const std::string mine = blas_info().corename;
  const auto kernels = comm_.gather(mine, 0);
  if (!log_) return;
  log_("exact mode: grains of " + std::to_string(config_.train.exact_grain) +
       " samples, gradients and statistics summed exactly; BLAS kernel " + mine);
  std::string others;
  for (size_t r = 1; r < kernels.size(); ++r) {
    if (kernels[r] != kernels[0])
      others += (others.empty() ? "" : ", ") + ("rank " + std::to_string(r) + " " + kernels[r]);
  }
  if (!others.empty()) {
    log_(
        "warning: exact mode: rank 0 runs BLAS kernel " + kernels[0] + " but " + others +
        ": sums stay exact, but the grains on those ranks may round differently, so the run is not bitwise the same as "
        "on one kernel");
  }
  if (resumed_ && resumed_->meta.run_config.size() > 0) {
    const auto saved = parse_run_config_text(resumed_->meta.run_config);
    const auto was = saved.find(kExactKernelKey);
    if (was != saved.end() && was->second != mine) {
      log_("warning: exact mode: " + resumed_->path + " was written by a run on BLAS kernel " + was->second +
           ", this one runs " + mine + ": the resumed run is not bitwise the uninterrupted one");
    }
  }
}

void TrainingRun::load_data() {
  train_data_ = std::make_unique<io::Dataset>(config_.data_path);
  if (config_.test_path) test_data_ = std::make_unique<io::Dataset>(*config_.test_path);
  train_source_ = train_data_.get();
  if (config_.val_fraction > 0.0) {
    auto [train_rows, val_rows] = split_rows(train_data_->size(), config_.val_fraction, config_.train.seed);
    if (log_) log_("validation: " + std::to_string(val_rows.size()) + " of the training samples held out");
    train_part_ = std::make_unique<SubsetSource>(*train_data_, std::move(train_rows));
    validation_part_ = std::make_unique<SubsetSource>(*train_data_, std::move(val_rows));
    train_source_ = train_part_.get();
  }
}

void TrainingRun::resume_or_initialize() {
  if (config_.resume) {
    // Rank 0 alone chooses and reads the checkpoint, then gives every rank its state: the run
    // directory need only exist where rank 0 runs (node-local disks, no shared file system).
    if (comm_.rank() == 0) {
      resumed_ =
          resume_from(*config_.resume, config_.run_dir, run_meta(), *net_, *optimizer_, [&](const std::string& w) {
            if (log_) log_("warning: " + w);
          });
    }
    share_resume_point();
    if (resumed_ && comm_.rank() == 0) {  // (a fresh start tidies below)
      for (const auto& line : tidy_run_directory(config_.run_dir, resumed_->meta.global_step)) {
        if (log_) log_(line);
      }
    }
    if (!resumed_ && log_) {
      log_("resume: no checkpoint in " + config_.run_dir + "/checkpoints yet: starting from scratch");
    }
  }
  if (resumed_) {
    const io::CheckpointMeta& m = resumed_->meta;
    if (log_) {
      log_("resume: " + resumed_->path + " (epoch " + std::to_string(m.epoch + 1) + ", step " + std::to_string(m.step) +
           ", " + std::to_string(m.global_step) + " steps done, saved by " + std::to_string(m.world_size) +
           " rank(s))");
    }
    return;
  }
  if (comm_.rank() == 0) {
    const auto old = io::list_checkpoints(config_.run_dir);
    if (!old.empty() && !config_.overwrite) {
      throw std::runtime_error(config_.run_dir + " already holds checkpoints of an earlier run (" + old.front() +
                               "): pass --resume to continue it, --overwrite to start over, or another --run-dir");
    }
    for (const auto& path : old) std::filesystem::remove(path);
    for (const auto& line : tidy_run_directory(config_.run_dir, std::nullopt)) {
      if (log_) log_(line);
    }
  }
  net_->initialize(config_.train.seed);
  net_->initialize_from_data(*train_source_, kInitializationSamples);
  broadcast_parameters(comm_, net_->params());
}

void TrainingRun::share_resume_point() {
  if (comm_.size() == 1) return;
  std::string point;
  if (resumed_) {
    const io::CheckpointMeta& m = resumed_->meta;
    point = std::to_string(m.epoch) + " " + std::to_string(m.step) + " " + std::to_string(m.global_step) + " " +
            std::to_string(m.world_size) + " " + resumed_->path;
  }
  comm_.broadcast(point, 0);
  if (point.empty()) return;  // a fresh start, on every rank
  if (comm_.rank() != 0) {
    ResumePoint received;
    std::istringstream in(point);
    in >> received.meta.epoch >> received.meta.step >> received.meta.global_step >> received.meta.world_size;
    std::getline(in >> std::ws, received.path);
    resumed_ = std::move(received);
  }
  broadcast_training_state(comm_, *net_, *optimizer_);
  const TrainPosition at = resumed_->position();
  check_same_on_all_ranks(comm_, {{"resume position", std::to_string(at.epoch) + " " + std::to_string(at.step) + " " +
                                                          std::to_string(at.global_step)}});
}

void TrainingRun::start_timeline() {
  // Fail now, not after hours of training, when the file cannot be written.
  if (comm_.rank() == 0 && !std::ofstream(*config_.timeline_path)) {
    throw std::runtime_error(*config_.timeline_path + ": cannot write the timeline");
  }
  comm_.barrier();  // one time origin for all ranks' events
  timeline_ = std::make_unique<Timeline>(comm_.rank());
  trainer_->set_timeline(timeline_.get());
}

FitEnd TrainingRun::train(TrainObserver& observer) {
  const TrainPosition start = resumed_ ? resumed_->position() : TrainPosition{};
  const FitEnd end = trainer_->fit(*train_source_, test_data_.get(), observer, start, checkpointer_.get());
  // No rank leaves a stopped run before rank 0's checkpoint is on disk: a launcher ends the other
  // ranks as soon as one exits with a non-zero status.
  if (end == FitEnd::kStopRequested) comm_.barrier();
  if (comm_.rank() == 0 && end == FitEnd::kFinished) published_final_ = publish_final_checkpoint(config_.run_dir);
  if (timeline_) {
    const auto events = comm_.gather(timeline_->events_json(), 0);
    if (comm_.rank() == 0) write_chrome_trace(*config_.timeline_path, events);
  }
  return end;
}

LossStats TrainingRun::evaluate_test() {
  if (!test_data_) throw std::logic_error("evaluate_test: the run has no test data");
  return evaluate(*net_, *test_data_, config_.train.eval_batch, *sync_);
}

}  // namespace shardnet::dist
