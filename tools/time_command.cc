// `shardnet time`: where a training step's time goes, layer by layer, like `caffe time`.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>

#include "core/bf16_matmul.h"
#include "core/blas_kernel.h"
#include "core/gemm.h"
#include "core/kernel_stats.h"
#include "core/model_file.h"
#include "core/optimizer.h"
#include "core/random.h"
#include "core/trainer.h"
#include "dist/gradient_sync.h"
#include "io/dataset.h"
#include "tools/commands.h"
#include "tools/options.h"
#include "tools/run_setup.h"

namespace shardnet::tools {
namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Random inputs in [0, 1) (token ids for an embedding) and random targets of the loss's kind, for timing without a data
// set.
void fill_random_batch(Net& net, int64_t size, Batch& batch) {
  CounterRng rng(12345, 0);
  Shape shape{size};
  shape.insert(shape.end(), net.input_shape().begin(), net.input_shape().end());
  batch.data.reshape(shape);
  // A model that starts with an embedding reads token ids.
  const int64_t vocab = net.size() > 0 ? net.layer(0).input_vocab() : 0;
  for (float& v : batch.data.span())
    v = vocab > 0 ? static_cast<float>(rng.below(static_cast<uint64_t>(vocab))) : rng.uniform();
  const int64_t outputs = shape_numel(net.output_shape());
  if (net.loss()->is_classifier()) {
    batch.labels.resize(static_cast<size_t>(size));
    for (int32_t& label : batch.labels) label = static_cast<int32_t>(rng.below(static_cast<uint64_t>(outputs)));
  } else {
    Shape target{size};
    target.insert(target.end(), net.output_shape().begin(), net.output_shape().end());
    batch.targets.reshape(target);
    for (float& v : batch.targets.span()) v = rng.uniform();
  }
  batch.rows.resize(static_cast<size_t>(size));
  std::iota(batch.rows.begin(), batch.rows.end(), int64_t{0});
}

// The best of a few runs of one large square sgemm: the rate the convolutions are measured against.
double reference_gemm_gflops(int64_t n) {
  std::vector<float> a(static_cast<size_t>(n * n), 0.5f), b(a.size(), 0.25f), c(a.size());
  double best = 0.0;
  for (int run = 0; run < 4; ++run) {
    const auto start = Clock::now();
    gemm(false, false, n, n, n, 1.0f, a.data(), b.data(), 0.0f, c.data());
    const double seconds = seconds_since(start);
    if (run > 0) best = std::max(best, 2.0 * n * n * n / seconds / 1e9);  // run 0 warms up
  }
  return best;
}

double percent(double part, double whole) { return whole > 0.0 ? 100.0 * part / whole : 0.0; }
double gflops(const KernelStats& k) { return k.gemm_seconds > 0.0 ? k.gemm_flops / k.gemm_seconds / 1e9 : 0.0; }

struct TimeOptions {
  std::string model_path, data_path;
  OptimizerKind optimizer = OptimizerKind::kAdam;
  int64_t batch = 64, iterations = 50, warmup = 5, reference = 2048;
  int threads = 0;
  double bucket_mb = 4.0;
  int64_t exact_grain = 0;  // exact mode (train --exact): samples per grain; 0: off
  Precision precision = Precision::kFp32;
};

// What the timed steps measured (this rank).
struct Timing {
  std::vector<LayerTime> layers;
  double data = 0.0;  // reading the batches
  StepTimes phases;
  KernelStats kernels;
  double step_seconds() const { return data + phases.forward + phases.backward + phases.sync_wait + phases.optimizer; }
};

// Runs warm-up and timed training steps through the Trainer, as `train` does.
Timing time_steps(const TimeOptions& o, const dist::Communicator& comm, Net& net, io::Dataset* data) {
  net.initialize(1);
  dist::broadcast_parameters(comm, net.params());
  OptimizerConfig opt;
  opt.kind = o.optimizer;
  auto optimizer = make_optimizer(opt);
  dist::GradientSync sync(comm, static_cast<size_t>(o.bucket_mb * (1 << 20)));
  TrainOptions train;
  train.global_batch = o.batch * comm.size();
  train.exact_grain = o.exact_grain;
  train.precision = o.precision;
  Trainer trainer(net, *optimizer, sync, train);
  Batch input;
  if (!data) fill_random_batch(net, o.batch, input);
  std::vector<int64_t> rows(static_cast<size_t>(o.batch));
  Timing timing;
  StepTimes warmup;
  for (int64_t it = 0; it < o.warmup + o.iterations; ++it) {
    const bool timed = it >= o.warmup;
    if (it == o.warmup) {
      net.profile_layers(&timing.layers);
      enable_kernel_stats(true);
      timing.kernels = kernel_stats();
    }
    const auto start = Clock::now();
    if (data) {
      // Consecutive slices of this rank's part of the data set, wrapping around.
      const int64_t first = (it * comm.size() + comm.rank()) * o.batch % (data->size() - o.batch + 1);
      std::iota(rows.begin(), rows.end(), first);
      data->read(rows, input);
      input.rows = rows;
    }
    if (timed) timing.data += seconds_since(start);
    trainer.step(input, 1e-4f, timed ? &timing.phases : &warmup);
  }
  timing.kernels = kernel_stats() - timing.kernels;
  enable_kernel_stats(false);
  net.profile_layers(nullptr);
  return timing;
}

void print_layers(Net& net, const Timing& t, double n) {
  std::printf("%-14s %-16s %12s %12s %8s %12s\n", "layer", "type", "forward ms", "backward ms", "share",
              "GEMM GFLOP/s");
  const double step = t.step_seconds();
  for (size_t i = 0; i < net.size(); ++i) {
    if (net.fused_into_previous(i)) {
      std::printf("%-14s %-16s %25s\n", net.layer(i).name().c_str(), net.layer(i).type().c_str(),
                  ("(in " + net.layer(i - 1).name() + ")").c_str());
      continue;
    }
    const LayerTime& l = t.layers[i];
    KernelStats both = l.forward_kernels;
    both.gemm_seconds += l.backward_kernels.gemm_seconds;
    both.gemm_flops += l.backward_kernels.gemm_flops;
    std::printf("%-14s %-16s %12.3f %12.3f %7.1f%% ", net.layer(i).name().c_str(), net.layer(i).type().c_str(),
                1e3 * l.forward_seconds / n, 1e3 * l.backward_seconds / n,
                percent(l.forward_seconds + l.backward_seconds, step));
    if (both.gemm_flops > 0.0)
      std::printf("%12.1f\n", gflops(both));
    else
      std::printf("%12s\n", "-");
  }
}

void print_step(const Timing& t, double n, int64_t batch) {
  const double step = t.step_seconds();
  const StepTimes& p = t.phases;
  std::printf(
      "step %.3f ms = %.0f samples/s per rank: data loading %.3f ms, forward %.3f, backward %.3f, "
      "allreduce wait %.3f, optimizer %.3f\n",
      1e3 * step / n, n * static_cast<double>(batch) / step, 1e3 * t.data / n, 1e3 * p.forward / n,
      1e3 * p.backward / n, 1e3 * p.sync_wait / n, 1e3 * p.optimizer / n);
  const KernelStats& k = t.kernels;
  std::printf(
      "shares of the step: GEMM %.1f%% (%.1f GFLOP/s), im2col/col2im %.1f%%, allreduce wait %.1f%%, "
      "data loading %.1f%%, other %.1f%%\n",
      percent(k.gemm_seconds, step), gflops(k), percent(k.im2col_seconds, step), percent(p.sync_wait, step),
      percent(t.data, step), percent(step - k.gemm_seconds - k.im2col_seconds - p.sync_wait - t.data, step));
}

// The timed GEMM rate against one large sgemm, and the whole step's useful work against it: the
// figure that does not depend on the CPU.
void print_against_sgemm(Net& net, const Timing& t, double n, int64_t batch, int64_t reference, double rate) {
  KernelStats conv;
  for (size_t i = 0; i < net.size(); ++i) {
    if (net.layer(i).type() != "conv") continue;
    const LayerTime& l = t.layers[i];
    conv.gemm_seconds += l.forward_kernels.gemm_seconds + l.backward_kernels.gemm_seconds;
    conv.gemm_flops += l.forward_kernels.gemm_flops + l.backward_kernels.gemm_flops;
  }
  std::printf("sgemm %lldx%lldx%lld: %.1f GFLOP/s", static_cast<long long>(reference),
              static_cast<long long>(reference), static_cast<long long>(reference), rate);
  if (conv.gemm_flops > 0.0)
    std::printf("; GEMMs in conv layers: %.1f GFLOP/s = %.0f%% of it", gflops(conv), percent(gflops(conv), rate));
  std::printf("\n");
  // Winograd's savings count as done: the figure compares the nominal (im2col GEMM) work.
  const double samples = n * static_cast<double>(batch);
  const double flops_per_sample = (t.kernels.gemm_flops + t.kernels.flops_saved) / samples;
  const double end_to_end = samples / t.step_seconds() * flops_per_sample / 1e9;
  std::printf(
      "end to end: %.1f MFLOP per sample (as GEMMs) x %.0f samples/s = %.1f GFLOP/s = %.0f%% of the sgemm rate\n",
      flops_per_sample / 1e6, samples / t.step_seconds(), end_to_end, percent(end_to_end, rate));
}

TimeOptions parse_time_options(const Args& args, bool& help) {
  TimeOptions o;
  po::options_description options("time options");
  // clang-format off
  options.add_options()
      ("model,m", po::value(&o.model_path)->required(), "model file (.cfg)")
      ("batch,b", po::value(&o.batch)->default_value(o.batch), "samples per rank per step")
      ("iterations,n", po::value(&o.iterations)->default_value(o.iterations), "timed training steps")
      ("warmup", po::value(&o.warmup)->default_value(o.warmup), "untimed steps first")
      ("data,d", po::value(&o.data_path), "read the batches from this HDF5 data set (default: random inputs)")
      ("optimizer", po::value(&o.optimizer)->default_value(o.optimizer), "optimizer whose update is timed")
      ("threads", po::value(&o.threads)->default_value(o.threads), "compute threads (0: OPENBLAS_NUM_THREADS or all cores)")
      ("bucket-mb", po::value(&o.bucket_mb)->default_value(o.bucket_mb), "gradient allreduce bucket size (MiB)")
      ("reference-gemm", po::value(&o.reference)->default_value(o.reference),
       "size N of the N x N x N sgemm the GEMM rates are compared with (0: skip)")
      ("precision", po::value(&o.precision)->default_value(o.precision, "fp32"), "fp32 | bf16 (train --precision)")
      ("exact", "time exact mode's steps (train --exact)")
      ("exact-grain", po::value<int64_t>()->default_value(kDefaultExactGrain), "exact mode's samples per grain");
  // clang-format on
  po::variables_map vm;
  help =
      !parse_options(args, "usage: shardnet time --model FILE [--batch N] [--iterations N] [--data FILE]", options, vm);
  if (!help && (o.batch <= 0 || o.iterations <= 0 || o.warmup < 0)) {
    throw UsageError("--batch and --iterations must be positive");
  }
  if (!help && !(o.bucket_mb > 0.0)) throw UsageError("--bucket-mb must be positive");
  if (!help && (vm.count("exact") > 0 || !vm["exact-grain"].defaulted())) {
    o.exact_grain = vm["exact-grain"].as<int64_t>();
    if (o.exact_grain <= 0 || o.batch % o.exact_grain != 0) {
      throw UsageError("--exact needs a --batch (per rank) that is a multiple of --exact-grain");
    }
  }
  return o;
}

}  // namespace

int time_command(const Args& args) {
  bool help = false;
  const TimeOptions o = parse_time_options(args, help);
  if (help) return 0;
  set_threads(o.threads);
  dist::Communicator comm;
  return run_on_all_ranks(comm, [&] {
    std::string model_text = read_text_file(o.model_path);
    std::unique_ptr<io::Dataset> data;
    if (!o.data_path.empty()) {
      data = std::make_unique<io::Dataset>(o.data_path);
      model_text = resolve_data_sizes(model_text, o.model_path, data->description());
    } else if (takes_sizes_from_data(model_text)) {
      throw UsageError(o.model_path +
                       " takes sizes from the data (shape = auto, vocab = auto or outputs = classes): "
                       "give --data FILE");
    }
    auto net = parse_model(model_text, o.model_path);
    if (data) {
      net->check_data(data->description(), o.model_path);
      if (data->size() < o.batch) {
        throw std::runtime_error(o.data_path + ": " + std::to_string(data->size()) + " samples, fewer than --batch " +
                                 std::to_string(o.batch));
      }
    }
    dist::check_same_on_all_ranks(comm, {{"model file", model_text}, {"options", join(args)}});
    const Timing timing = time_steps(o, comm, *net, data.get());
    const bool leader = comm.rank() == 0;
    const double reference_rate = leader && o.reference > 0 ? reference_gemm_gflops(o.reference) : 0.0;
    if (!leader) return 0;
    const double n = static_cast<double>(o.iterations);
    const std::string precision =
        o.precision == Precision::kBf16 ? std::string(", bf16 GEMMs by ") + bf16_backend_name() : "";
    std::printf("%s: batch %lld per rank, %d rank(s), %s%s, %lld steps timed after %lld warm-up, %s\n",
                o.model_path.c_str(), static_cast<long long>(o.batch), comm.size(), describe_blas().c_str(),
                precision.c_str(), static_cast<long long>(o.iterations), static_cast<long long>(o.warmup),
                data ? ("data " + o.data_path).c_str() : "random inputs");
    print_layers(*net, timing, n);
    print_step(timing, n, o.batch);
    if (reference_rate > 0.0) print_against_sgemm(*net, timing, n, o.batch, o.reference, reference_rate);
    return 0;
  });
}

}  // namespace shardnet::tools
