// `shardnet train`: flags into a RunConfig, the run itself in dist::TrainingRun, progress printed.
#include <unistd.h>

#include <cstdio>

#include "core/bf16_matmul.h"
#include "core/blas_kernel.h"
#include "core/gemm.h"
#include "dist/exit_status.h"
#include "dist/stop_signals.h"
#include "dist/training_run.h"
#include "tools/commands.h"
#include "tools/progress.h"
#include "tools/run_setup.h"
#include "tools/train_options.h"

namespace shardnet::tools {
namespace {

void print_setup(dist::TrainingRun& run, int ranks) {
  const RunConfig& c = run.config();
  Net& net = run.net();
  std::printf("model %s: %zu layers, %lld parameters; data %s: %lld samples; batch %lld over %d rank(s), %s lr %g\n",
              c.model_path.c_str(), net.size(), static_cast<long long>(net.param_count()), c.data_path.c_str(),
              static_cast<long long>(run.training_data().size()), static_cast<long long>(c.train.global_batch), ranks,
              std::string(optimizer_name(c.optimizer.kind)).c_str(), c.train.lr.base);
  std::printf("BLAS: %s (rank 0)\n", describe_blas().c_str());
  if (c.train.precision == Precision::kBf16) std::printf("precision: bf16 GEMMs by %s (rank 0)\n", bf16_backend_name());
}

void print_summary(const dist::TrainingRun& run, const ProgressReporter& reporter, int ranks) {
  const RunConfig& c = run.config();
  if (run.published_final())
    std::printf("saved %s/final.h5; %s\n", c.run_dir.c_str(), run.checkpoint_summary().c_str());
  std::printf("%s\n", reporter.phase_summary().c_str());
  if (ranks > 1 && c.train.exact_grain > 0) {
    std::printf("gradients: summed exactly over the ranks after backward (exact mode)\n");
  } else if (ranks > 1) {
    std::printf("gradients: %zu bucket(s) of up to %g MiB per step, summed while backward runs\n", run.bucket_count(),
                c.bucket_mb);
  }
  if (c.timeline_path)
    std::printf("timeline: %s (%zu events on rank 0)\n", c.timeline_path->c_str(), run.timeline_events());
}

void print_stop(const dist::TrainingRun& run) {
  const TrainPosition& at = run.end_position();
  const int signal = dist::StopSignals::flag().load();
  std::printf("stopped%s at epoch %lld, step %lld (%lld steps done): checkpoint %s; continue with --resume\n",
              signal != 0 ? (" by " + dist::signal_name(signal)).c_str() : " (a stop signal reached another rank)",
              static_cast<long long>(at.epoch + 1), static_cast<long long>(at.step),
              static_cast<long long>(at.global_step), run.last_checkpoint().c_str());
  std::fflush(stdout);
}

}  // namespace

int train_command(const Args& args) {
  po::options_description options("train options");
  RunConfig config;
  add_train_options(options, config);
  po::variables_map vm;
  if (!parse_options(args, "usage: shardnet train --model FILE --data FILE [--test FILE] [options]", options, vm)) {
    return 0;
  }
  finish_train_options(vm, config);
  try {
    config.validate();
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }

  dist::Communicator comm;
  return run_on_all_ranks(comm, [&] {
    const bool leader = comm.rank() == 0;
    dist::TrainingRun run(comm, config, [](const std::string& line) {
      std::FILE* out = line.rfind("warning: ", 0) == 0 ? stderr : stdout;
      std::fprintf(out, "%s%s\n", out == stderr ? "shardnet train: " : "", line.c_str());
    });
    if (leader) print_setup(run, comm.size());
    // Under mpirun stdout is a pseudo-terminal even when the job's output goes to a file: bars only
    // for an interactive single process.
    const bool bar = isatty(STDOUT_FILENO) && !comm.uses_mpi();
    const bool resumed = run.resumed_from().has_value();
    ProgressReporter reporter(config.train.epochs, config.train.global_batch, config.run_dir + "/metrics.csv", leader,
                              bar, resumed,
                              config.train.log_grad_norms ? layers_with_params(run.net()) : std::vector<std::string>{});
    reporter.log_steps(config.run_dir + "/steps.csv", config.log_every, resumed);
    if (leader) record_command(config.run_dir, "shardnet train " + join(args), resumed);
    RunDirectoryWriter run_files(reporter, comm, config.run_dir, resumed);
    const dist::StopSignals stop_signals(comm.rank());
    run.watch_stop_flag(&dist::StopSignals::flag());
    if (run.train(run_files) == FitEnd::kStopRequested) {
      if (leader) print_stop(run);
      return static_cast<int>(dist::kExitStopped);
    }
    if (leader) print_summary(run, reporter, comm.size());
    if (run.has_test_data()) {
      const LossStats t = run.evaluate_test();
      if (leader) print_test_result(run.net(), t);
    }
    return static_cast<int>(dist::kExitOk);
  });
}

}  // namespace shardnet::tools
