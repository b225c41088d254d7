// `shardnet time`: where a training step's time goes, layer by layer, like `caffe time`.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>

#include "core/blas_kernel.h"
#include "core/gemm.h"
#include "core/kernel_stats.h"
#include "core/model_file.h"
#include "core/optimizer.h"
#include "core/random.h"
#include "core/recurrent.h"
#include "dist/gradient_sync.h"
#include "io/dataset.h"
#include "tools/commands.h"
#include "tools/options.h"
#include "tools/run_setup.h"

namespace shardnet::tools {
namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Random inputs in [0, 1) (token ids for an embedding) and random targets of the loss's kind, for timing without a data set.
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
}  // namespace

int time_command(const Args& args) {
  po::options_description options("time options");
  std::string model_path, data_path, optimizer_type;
  int64_t batch = 64, iterations = 50, warmup = 5, reference = 2048;
  int threads = 0;
  double bucket_mb = 4.0;
  options.add_options()
      ("model,m", po::value(&model_path)->required(), "model file (.cfg)")
      ("batch,b", po::value(&batch)->default_value(64), "samples per rank per step")
      ("iterations,n", po::value(&iterations)->default_value(50), "timed training steps")
      ("warmup", po::value(&warmup)->default_value(5), "untimed steps first")
      ("data,d", po::value(&data_path), "read the batches from this HDF5 data set (default: random inputs)")
      ("optimizer", po::value(&optimizer_type)->default_value("adam"), "optimizer whose update is timed")
      ("threads", po::value(&threads)->default_value(0), "BLAS threads (0: OPENBLAS_NUM_THREADS or all cores)")
      ("bucket-mb", po::value(&bucket_mb)->default_value(4.0, "4"), "gradient allreduce bucket size (MiB)")
      ("reference-gemm", po::value(&reference)->default_value(2048),
       "size N of the N x N x N sgemm the GEMM rates are compared with (0: skip)");
  po::variables_map vm;
  if (!parse_options(args, "usage: shardnet time --model FILE [--batch N] [--iterations N] [--data FILE]", options,
                     vm)) {
    return 0;
  }
  if (batch <= 0 || iterations <= 0 || warmup < 0) throw UsageError("--batch and --iterations must be positive");
  if (bucket_mb <= 0.0) throw UsageError("--bucket-mb must be positive");
  set_threads(threads);

  dist::Communicator comm;
  return run_on_all_ranks(comm, [&] {
    const bool leader = comm.rank() == 0;
    const std::string model_text = read_text_file(model_path);
    auto net = parse_model(model_text, model_path);
    std::unique_ptr<io::Dataset> data;
    if (!data_path.empty()) {
      data = std::make_unique<io::Dataset>(data_path);
      net->check_data(data->description(), model_path);
      if (data->size() < batch) {
        throw std::runtime_error(data_path + ": " + std::to_string(data->size()) + " samples, fewer than --batch " +
                                 std::to_string(batch));
      }
    }
    dist::check_same_on_all_ranks(comm, {{"model file", model_text}, {"options", join(args)}});
    net->initialize(1);
    dist::broadcast_parameters(comm, net->params());
    OptimizerConfig opt;
    opt.type = optimizer_type;
    auto optimizer = make_optimizer(opt);
    dist::GradientSync sync(comm, static_cast<size_t>(bucket_mb * (1 << 20)));
    const std::vector<Param*> params = net->params();
    std::vector<std::vector<Param*>> layer_params;
    for (size_t i = 0; i < net->size(); ++i) layer_params.push_back(net->layer(i).params());

    Batch input;
    if (!data) fill_random_batch(*net, batch, input);
    std::vector<int64_t> rows(static_cast<size_t>(batch));
    std::vector<LayerTime> layers;
    double phase[5] = {};  // data loading, forward, backward, allreduce wait, optimizer
    KernelStats step_kernels;
    for (int64_t it = 0; it < warmup + iterations; ++it) {
      const bool timed = it >= warmup;
      if (it == warmup) {
        net->profile_layers(&layers);
        enable_kernel_stats(true);
        step_kernels = kernel_stats();
      }
      auto t = Clock::now();
      auto lap = [&](int i) {
        if (timed) phase[i] += seconds_since(t);
        t = Clock::now();
      };
      if (data) {
        // Consecutive slices of this rank's part of the data set, wrapping around.
        const int64_t first = (it * comm.size() + comm.rank()) * batch % (data->size() - batch + 1);
        std::iota(rows.begin(), rows.end(), first);
        data->read(rows, input);
        input.rows = rows;
      }
      lap(0);
      net->forward_loss(input, Mode::kTrain);
      lap(1);
      sync.start_gradient_sum(params);
      net->backward(input, 1.0f / static_cast<float>(batch * comm.size()),
                    [&](size_t layer) { sync.gradients_ready(layer_params[layer]); });
      lap(2);
      sync.finish_gradient_sum();
      lap(3);
      optimizer->step(params, 1e-4f);
      lap(4);
    }
    step_kernels = kernel_stats() - step_kernels;
    enable_kernel_stats(false);
    net->profile_layers(nullptr);
    const double reference_rate = leader && reference > 0 ? reference_gemm_gflops(reference) : 0.0;
    if (!leader) return;

    const double n = static_cast<double>(iterations);
    const double step = std::accumulate(std::begin(phase), std::end(phase), 0.0);
    std::printf("%s: batch %lld per rank, %d rank(s), %s, %lld steps timed after %lld warm-up, %s\n",
                model_path.c_str(), static_cast<long long>(batch), comm.size(), describe_blas().c_str(),
                static_cast<long long>(iterations), static_cast<long long>(warmup),
                data ? ("data " + data_path).c_str() : "random inputs");
    std::printf("%-14s %-16s %12s %12s %8s %12s\n", "layer", "type", "forward ms", "backward ms", "share", "GEMM GFLOP/s");
    KernelStats conv;
    for (size_t i = 0; i < net->size(); ++i) {
      const LayerTime& l = layers[i];
      KernelStats both = l.forward_kernels;
      both.gemm_seconds += l.backward_kernels.gemm_seconds;
      both.gemm_flops += l.backward_kernels.gemm_flops;
      if (net->layer(i).type() == "conv") {
        conv.gemm_seconds += both.gemm_seconds;
        conv.gemm_flops += both.gemm_flops;
      }
      std::printf("%-14s %-16s %12.3f %12.3f %7.1f%% ", net->layer(i).name().c_str(), net->layer(i).type().c_str(),
                  1e3 * l.forward_seconds / n, 1e3 * l.backward_seconds / n,
                  percent(l.forward_seconds + l.backward_seconds, step));
      if (both.gemm_flops > 0.0) std::printf("%12.1f\n", gflops(both));
      else std::printf("%12s\n", "-");
    }
    std::printf("step %.3f ms = %.0f samples/s per rank: data loading %.3f ms, forward %.3f, backward %.3f, "
                "allreduce wait %.3f, optimizer %.3f\n",
                1e3 * step / n, n * static_cast<double>(batch) / step, 1e3 * phase[0] / n, 1e3 * phase[1] / n,
                1e3 * phase[2] / n, 1e3 * phase[3] / n, 1e3 * phase[4] / n);
    std::printf("shares of the step: GEMM %.1f%% (%.1f GFLOP/s), im2col/col2im %.1f%%, allreduce wait %.1f%%, "
                "data loading %.1f%%, other %.1f%%\n",
                percent(step_kernels.gemm_seconds, step), gflops(step_kernels),
                percent(step_kernels.im2col_seconds, step), percent(phase[3], step), percent(phase[0], step),
                percent(step - step_kernels.gemm_seconds - step_kernels.im2col_seconds - phase[3] - phase[0], step));
    if (reference_rate > 0.0) {
      std::printf("sgemm %lldx%lldx%lld: %.1f GFLOP/s", static_cast<long long>(reference),
                  static_cast<long long>(reference), static_cast<long long>(reference), reference_rate);
      if (conv.gemm_flops > 0.0)
        std::printf("; GEMMs in conv layers: %.1f GFLOP/s = %.0f%% of it", gflops(conv), percent(gflops(conv), reference_rate));
      std::printf("\n");
      // The figure that does not depend on the CPU: the whole step's useful work against the best a
      // large GEMM reaches on the same threads.
      // Winograd's savings count as done: the figure compares the nominal (im2col GEMM) work.
      const double flops_per_sample = (step_kernels.gemm_flops + step_kernels.flops_saved) / (n * static_cast<double>(batch));
      const double end_to_end = n * static_cast<double>(batch) / step * flops_per_sample / 1e9;
      std::printf("end to end: %.1f MFLOP per sample (as GEMMs) x %.0f samples/s = %.1f GFLOP/s = %.0f%% of the sgemm rate\n",
                  flops_per_sample / 1e6, n * static_cast<double>(batch) / step, end_to_end,
                  percent(end_to_end, reference_rate));
    }
  });
}

}  // namespace shardnet::tools
