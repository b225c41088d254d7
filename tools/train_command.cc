#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/blas_kernel.h"
#include "core/model_file.h"
#include "core/optimizer.h"
#include "core/subset_source.h"
#include "core/trainer.h"
#include "dist/gradient_sync.h"
#include "io/checkpoint.h"
#include "io/dataset.h"
#include "tools/commands.h"
#include "tools/options.h"
#include "tools/progress.h"
#include "tools/run_checkpoints.h"
#include "tools/run_setup.h"

namespace shardnet::tools {

int train_command(const Args& args) {
  po::options_description options("train options");
  std::string model_path, data_path, test_path, run_dir, config;
  TrainOptions train;
  OptimizerConfig opt;
  int threads = 0;
  double bucket_mb = 4.0;
  int keep = 3;
  double val_fraction = 0.0;
  int patience = 0;
  int64_t log_every = 0;
  std::string resume, timeline_path;
  options.add_options()
      ("model,m", po::value(&model_path)->required(), "model file (.cfg)")
      ("data,d", po::value(&data_path)->required(), "training data set (HDF5)")
      ("test,t", po::value(&test_path), "test data set (HDF5), scored after every epoch")
      ("epochs,e", po::value(&train.epochs)->default_value(1), "epochs")
      ("batch,b", po::value(&train.global_batch)->default_value(64), "global mini-batch size")
      ("optimizer", po::value(&opt.type)->default_value("sgd"),
       "sgd | momentum | nesterov | adagrad | rmsprop | adadelta | adam")
      ("lr", po::value(&train.lr.base)->default_value(0.01f, "0.01"), "learning rate")
      ("momentum", po::value(&opt.momentum)->default_value(-1.0f, "0 for sgd, 0.9 for momentum and nesterov"),
       "momentum")
      ("beta1", po::value(&opt.beta1)->default_value(0.9f, "0.9"), "Adam beta1")
      ("beta2", po::value(&opt.beta2)->default_value(0.999f, "0.999"), "Adam beta2")
      ("epsilon", po::value(&opt.epsilon)->default_value(-1.0f, "adam, rmsprop 1e-8; adagrad 1e-10; adadelta 1e-6"),
       "epsilon of the adaptive optimizers")
      ("decay", po::value(&opt.decay)->default_value(0.9f, "0.9"), "RMSprop's moving-average decay")
      ("rho", po::value(&opt.rho)->default_value(0.95f, "0.95"), "AdaDelta's rho")
      ("l1", po::value(&opt.l1)->default_value(0.0f, "0"), "L1 regularisation (weights, not biases)")
      ("clip-norm", po::value(&train.clip_norm)->default_value(0.0f, "0"),
       "clip the gradient to this global L2 norm (0: off)")
      ("weight-decay", po::value(&opt.weight_decay)->default_value(0.0f, "0"), "L2 weight decay (weights, not biases)")
      ("lr-schedule", po::value(&train.lr.kind)->default_value("constant"), "constant | step | exponential | cosine | linear")
      ("warmup-epochs", po::value(&train.lr.warmup_epochs)->default_value(0.0f, "0"),
       "linear warm-up from lr/10 over this many epochs")
      ("lr-step", po::value(&train.lr.step_epochs)->default_value(1.0f, "1"), "step: epochs between decays")
      ("lr-gamma", po::value(&train.lr.gamma)->default_value(0.1f, "0.1"),
       "step: factor per step; exponential: factor per epoch")
      ("seed", po::value(&train.seed)->default_value(1), "seed for initialisation and shuffling")
      ("val-fraction", po::value(&val_fraction)->default_value(0.0, "0"),
       "hold out this fraction of the training data (fixed-seed split) and score it after each epoch")
      ("patience", po::value(&patience)->default_value(0),
       "early stopping: stop when the validation loss has not improved for this many epochs (0: never)")
      ("log-every", po::value(&log_every)->default_value(0),
       "write the mean training loss of every N steps to steps.csv in the run directory (0: off)")
      ("max-steps", po::value(&train.max_steps)->default_value(0), "stop after this many steps (0: no limit)")
      ("eval-batch", po::value(&train.eval_batch)->default_value(500), "batch size for evaluation")
      ("threads", po::value(&threads)->default_value(0), "BLAS threads (0: OPENBLAS_NUM_THREADS or all cores)")
      ("bucket-mb", po::value(&bucket_mb)->default_value(4.0, "4"), "gradient allreduce bucket size (MiB)")
      ("timeline", po::value(&timeline_path),
       "write a Chrome trace (chrome://tracing, Perfetto) of every rank's step phases and allreduces to FILE")
      ("checkpoint-every", po::value(&train.checkpoint_every)->default_value(0),
       "also checkpoint every this many steps (checkpoints are always written at each epoch end)")
      ("keep-checkpoints", po::value(&keep)->default_value(3), "how many of the newest checkpoints to keep")
      ("resume", po::value(&resume)->implicit_value("latest"),
       "continue from a checkpoint: FILE, or without a value the newest good one in the run directory")
      ("overwrite", "start afresh in a run directory that holds an earlier run's checkpoints (deletes them)")
      ("run-dir", po::value(&run_dir)->default_value("runs/latest"), "where metrics.csv and final.h5 go")
      ("config", po::value(&config), "file of `option = value` lines (command-line flags win)");
  po::variables_map vm;
  if (!parse_options(args, "usage: shardnet train --model FILE --data FILE [--test FILE] [options]", options, vm)) {
    return 0;
  }
  if (bucket_mb <= 0.0) throw UsageError("--bucket-mb must be positive");
  set_threads(threads);

  dist::Communicator comm;
  return run_on_all_ranks(comm, [&] {
    const bool leader = comm.rank() == 0;
    const std::string model_text = read_text_file(model_path);
    auto net = parse_model(model_text, model_path);
    io::Dataset train_data(data_path);
    net->check_data(train_data.description(), model_path);
    std::unique_ptr<io::Dataset> test_data;
    if (!test_path.empty()) {
      test_data = std::make_unique<io::Dataset>(test_path);
      net->check_data(test_data->description(), model_path);
    }
    auto optimizer = make_optimizer(opt);
    dist::check_same_on_all_ranks(
        comm, {{"model file", model_text},
               {"parameter count", std::to_string(net->param_count())},
               {"training data", describe_dataset(train_data)},
               {"test data", test_data ? describe_dataset(*test_data) : "none"},
               {"training options", join(args)}});
    std::unique_ptr<SubsetSource> train_part, val_part;
    BatchSource* train_source = &train_data;
    if (val_fraction > 0.0) {
      auto [train_rows, val_rows] = split_rows(train_data.size(), val_fraction, train.seed);
      if (leader) std::printf("validation: %zu of the training samples held out\n", val_rows.size());
      train_part = std::make_unique<SubsetSource>(train_data, std::move(train_rows));
      val_part = std::make_unique<SubsetSource>(train_data, std::move(val_rows));
      train_source = train_part.get();
    } else if (patience > 0) {
      throw UsageError("--patience needs a validation split (--val-fraction)");
    }
    TrainPosition start;
    const bool resumed = !resume.empty() && resume_from(resume, run_dir, model_text, train.global_batch, *net,
                                                        *optimizer, leader, start);
    if (!resumed && leader) {
      const auto old = io::list_checkpoints(run_dir);
      if (!old.empty() && !vm.count("overwrite")) {
        throw std::runtime_error(run_dir + " already holds checkpoints of an earlier run (" + old.front() +
                                 "): pass --resume to continue it, --overwrite to start over, or another --run-dir");
      }
      for (const auto& path : old) std::filesystem::remove(path);
    }
    if (!resumed) {
      net->initialize(train.seed);
      net->initialize_from_data(*train_source, kWhiteningSamples);
      dist::broadcast_parameters(comm, net->params());
    }

    if (leader) {
      std::filesystem::create_directories(run_dir);
      std::ofstream(run_dir + "/model.cfg") << model_text;
      std::printf("model %s: %zu layers, %lld parameters; data %s: %lld samples; batch %lld over %d rank(s), %s lr %g\n",
                  model_path.c_str(), net->size(), static_cast<long long>(net->param_count()), data_path.c_str(),
                  static_cast<long long>(train_data.size()), static_cast<long long>(train.global_batch), comm.size(),
                  opt.type.c_str(), train.lr.base);
      std::printf("BLAS: %s (rank 0)\n", describe_blas().c_str());
    }
    // Under mpirun stdout is a pseudo-terminal even when the job's output goes to a file: bars only
    // for an interactive single process.
    const bool bar = isatty(STDOUT_FILENO) && !comm.uses_mpi();
    ProgressReporter reporter(train.epochs, train.global_batch, run_dir + "/metrics.csv", leader, bar, resumed);
    reporter.log_steps(run_dir + "/steps.csv", log_every, resumed);
    dist::GradientSync sync(comm, static_cast<size_t>(bucket_mb * (1 << 20)));
    Trainer trainer(*net, *optimizer, sync, train);
    std::unique_ptr<Timeline> timeline;
    if (!timeline_path.empty()) {
      // Fail now, not after hours of training, when the file cannot be written.
      if (leader && !std::ofstream(timeline_path)) throw std::runtime_error(timeline_path + ": cannot write the timeline");
      comm.barrier();  // one time origin for all ranks' events
      timeline = std::make_unique<Timeline>(comm.rank());
      trainer.set_timeline(timeline.get());
    }
    const io::CheckpointMeta meta{model_text, 0, 0, 0, train.global_batch, train.seed, comm.size()};
    RunCheckpointer checkpointer(comm, *net, *optimizer, meta, run_dir, keep);
    if (val_part) trainer.set_validation(val_part.get(), patience);
    trainer.fit(*train_source, test_data.get(), reporter, start, &checkpointer);

    if (leader) {
      // The newest checkpoint is where training stopped; final.h5 is a copy under a fixed name.
      const auto newest = io::list_checkpoints(run_dir);
      if (!newest.empty()) {
        std::filesystem::copy_file(newest.front(), run_dir + "/final.h5.tmp",
                                   std::filesystem::copy_options::overwrite_existing);
        std::filesystem::rename(run_dir + "/final.h5.tmp", run_dir + "/final.h5");
        std::printf("saved %s/final.h5; %s\n", run_dir.c_str(), checkpointer.summary().c_str());
      }
    }
    if (leader) {
      std::printf("%s\n", reporter.phase_summary().c_str());
      if (comm.size() > 1) {
        std::printf("gradients: %zu bucket(s) of up to %g MiB per step, summed while backward runs\n",
                    sync.bucket_count(), bucket_mb);
      }
    }
    if (timeline) {
      const auto events = comm.gather(timeline->events_json(), 0);
      if (leader) {
        write_chrome_trace(timeline_path, events);
        std::printf("timeline: %s (%zu events on rank 0)\n", timeline_path.c_str(), timeline->size());
      }
    }
    if (test_data) {
      const LossStats t = evaluate(*net, *test_data, train.eval_batch, sync);
      if (leader) print_test_result(*net, t);
    }
  });
}

}  // namespace shardnet::tools
