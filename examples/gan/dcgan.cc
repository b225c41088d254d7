// A DCGAN (Radford et al. 2016) on MNIST through shardnet's C++ API, data-parallel over MPI ranks:
//   mpirun -np R dcgan train --data mnist-train.h5 --out DIR [--epochs N] [--seed S]
//   dcgan score --classifier CNN.h5 --real mnist-test.h5 SAMPLES.h5...
// Generator: noise (100) -> dense 64x7x7 -> BatchNorm, ReLU -> deconv 4x4/2 to 32x14x14 -> BatchNorm,
// ReLU -> deconv 4x4/2 to 1x28x28 -> tanh. Discriminator: conv 4x4/2 to 32x14x14 -> LeakyReLU(0.2)
// -> conv 4x4/2 to 64x7x7 -> LeakyReLU(0.2) -> dense 1 (a logit). Alternating updates with Adam
// (lr 2e-4, beta1 0.5) and the non-saturating loss: D on real (target 1) and fake (target 0), then
// G through D with target 1. Each rank takes its shard of every global batch; the noise is keyed by
// (seed, step, global sample), the BatchNorm statistics are summed over the ranks (synchronised
// BatchNorm), and both nets' gradients are averaged over the ranks, so R ranks train the GAN one
// rank trains. After every epoch: a grid of 64 samples from fixed noise (samples-NN.png) and a
// checkpoint set of both nets with their optimizers (gan.h5); at the end 10,000 samples
// (samples.h5: uint8 images as MNIST's, the noise as float /label) for `score`.
// `score` measures samples with a trained MNIST classifier: the Frechet distance between its
// penultimate-layer features of the samples and of the real images, and the class histogram.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/activation.h"
#include "core/batchnorm.h"
#include "core/conv2d.h"
#include "core/deconv2d.h"
#include "core/dense.h"
#include "core/frechet_distance.h"
#include "core/loss.h"
#include "core/model_file.h"
#include "core/net.h"
#include "core/optimizer.h"
#include "core/random.h"
#include "core/shard_sampler.h"
#include "dist/communicator.h"
#include "dist/gradient_sync.h"
#include "io/checkpoint.h"
#include "io/dataset.h"
#include "io/dataset_writer.h"
#include "io/image_grid.h"

namespace {

using shardnet::Batch;
using shardnet::Mode;
using shardnet::Net;
using shardnet::Shape;
using shardnet::Tensor;

constexpr int64_t kNoise = 100;
const shardnet::InitSpec kDcganInit{shardnet::InitKind::kNormal, 0.02f};  // DCGAN's N(0, 0.02)

std::unique_ptr<Net> generator() {
  using namespace shardnet;
  auto net = std::make_unique<Net>(Shape{kNoise});
  net->add(std::make_unique<Dense>("fc", 64 * 7 * 7, false, kDcganInit));
  net->add(std::make_unique<Reshape>("reshape", Shape{64, 7, 7}));
  net->add(std::make_unique<BatchNorm>("bn1", BatchNormConfig{}));
  net->add(std::make_unique<ReLU>("relu1"));
  net->add(std::make_unique<Deconv2D>("deconv1", Deconv2DConfig{32, 4, 2, 1, 0, false, kDcganInit}));
  net->add(std::make_unique<BatchNorm>("bn2", BatchNormConfig{}));
  net->add(std::make_unique<ReLU>("relu2"));
  net->add(std::make_unique<Deconv2D>("deconv2", Deconv2DConfig{1, 4, 2, 1, 0, true, kDcganInit}));
  net->add(std::make_unique<Tanh>("tanh"));
  return net;
}

std::unique_ptr<Net> discriminator() {
  using namespace shardnet;
  Conv2DConfig conv;
  conv.kernel_h = conv.kernel_w = 4;
  conv.stride_h = conv.stride_w = 2;
  conv.pad_h = conv.pad_w = 1;
  conv.init = kDcganInit;
  auto net = std::make_unique<Net>(Shape{1, 28, 28});
  conv.filters = 32;
  net->add(std::make_unique<Conv2D>("conv1", conv));
  net->add(std::make_unique<LeakyReLU>("lrelu1", 0.2f));
  conv.filters = 64;
  net->add(std::make_unique<Conv2D>("conv2", conv));
  net->add(std::make_unique<LeakyReLU>("lrelu2", 0.2f));
  net->add(std::make_unique<Flatten>("flatten"));
  net->add(std::make_unique<Dense>("logit", 1, true, kDcganInit));
  net->set_loss(std::make_unique<SigmoidCrossEntropy>());
  return net;
}

// Noise rows for global samples first..first+n of step `step` (stream 0: training; others: fixed sets).
Tensor noise(uint64_t seed, uint64_t stream, int64_t step, int64_t first, int64_t n) {
  Tensor z({n, kNoise});
  for (int64_t i = 0; i < n; ++i) {
    shardnet::CounterRng rng(shardnet::hash_key(seed, stream, shardnet::hash_key(step, first + i)));
    for (int64_t j = 0; j < kNoise; ++j) z[i * kNoise + j] = rng.normal();
  }
  return z;
}

std::unique_ptr<shardnet::Optimizer> dcgan_adam() {
  shardnet::OptimizerConfig adam;
  adam.kind = shardnet::OptimizerKind::kAdam;
  adam.beta1 = 0.5f;
  return shardnet::make_optimizer(adam);
}

struct TrainSettings {
  std::string data, out;
  int64_t epochs = 5, batch = 64, samples = 10000;
  int64_t steps_per_epoch = 0;  // 0: the whole training set
  uint64_t seed = 1;
  float lr = 2e-4f;
};

void write_grid(Net& g, uint64_t seed, const std::string& path) {
  const Tensor& images = g.forward(noise(seed, 1, 0, 0, 64), Mode::kEval);
  shardnet::io::ImageGrid grid(8, 28, 28, 2, 2);
  for (int64_t i = 0; i < 64; ++i) grid.add({images.data() + i * 784, 784}, 1, -1.0f, 1.0f);
  shardnet::io::write_png(path, grid.render());
}

// `count` samples from noise stream 2 as an MNIST-like data set: uint8 images, the noise as /label.
void write_samples(Net& g, uint64_t seed, int64_t count, const std::string& path) {
  shardnet::io::DatasetInfo info;
  info.sample_shape = {1, 28, 28};
  info.source = "dcgan samples, seed " + std::to_string(seed);
  info.label_type = shardnet::io::LabelType::kTargets;
  info.target_shape = {kNoise};
  shardnet::io::DatasetWriter out(path, info);
  std::vector<uint8_t> bytes;
  for (int64_t first = 0; first < count; first += 500) {
    const int64_t n = std::min<int64_t>(500, count - first);
    const Tensor z = noise(seed, 2, 0, first, n);
    const Tensor& images = g.forward(z, Mode::kEval);
    bytes.resize(static_cast<size_t>(images.numel()));
    for (int64_t i = 0; i < images.numel(); ++i) {
      bytes[i] = static_cast<uint8_t>(std::lround(std::clamp((images[i] + 1.0f) * 127.5f, 0.0f, 255.0f)));
    }
    out.append_data(bytes.data(), n);
    out.append_targets(z.data(), n);
  }
  out.finish();
}

int train(const TrainSettings& s) {
  shardnet::dist::Communicator comm;
  const bool leader = comm.rank() == 0;
  shardnet::io::Dataset data(s.data);
  if (data.sample_shape() != Shape{1, 28, 28} && data.sample_shape() != Shape{28, 28}) {
    throw std::runtime_error(s.data + ": /data rows are " + shardnet::shape_string(data.sample_shape()) +
                             ", not 28x28 images");
  }
  if (s.batch % comm.size() != 0) throw std::invalid_argument("the ranks must divide --batch");
  auto g = generator();
  auto d = discriminator();
  shardnet::dist::GradientSync g_sum(comm), d_sum(comm);
  g->set_collective(&g_sum);  // synchronised BatchNorm: statistics over the global batch
  g->initialize(s.seed);
  d->initialize(s.seed + 1);
  shardnet::dist::broadcast_parameters(comm, g->params());
  shardnet::dist::broadcast_parameters(comm, d->params());
  auto g_opt = dcgan_adam(), d_opt = dcgan_adam();

  shardnet::ShardSampler sampler(data.size(), s.batch, comm.rank(), comm.size(), s.seed);
  const int64_t local = s.batch / comm.size(), first_local = comm.rank() * local;
  const float scale = 1.0f / static_cast<float>(s.batch);  // each loss is a mean over the global batch
  std::ofstream losses;
  if (leader) {
    std::filesystem::create_directories(s.out);
    losses.open(s.out + "/losses.csv");
    losses << "epoch,step,d_loss,g_loss,d_real,d_fake\n";
  }
  const auto start = std::chrono::steady_clock::now();
  Batch real, d_batch, g_batch;
  Tensor z, d_logit_grad, d_fake_grad;
  int64_t global_step = 0;
  const int64_t steps =
      s.steps_per_epoch > 0 ? std::min(s.steps_per_epoch, sampler.steps_per_epoch()) : sampler.steps_per_epoch();
  for (int64_t epoch = 0; epoch < s.epochs; ++epoch) {
    sampler.start_epoch(epoch);
    double d_loss_sum = 0.0, g_loss_sum = 0.0;
    for (int64_t step = 0; step < steps; ++step, ++global_step) {
      data.read(sampler.rows(step), real);
      // The discriminator: the real half (target 1) and the generator's half (target 0) in one batch.
      z = noise(s.seed, 0, global_step, first_local, local);  // kept: g's backward reads its input
      const Tensor& fake = g->forward(z, Mode::kTrain);
      d_batch.data.reshape({2 * local, 1, 28, 28});
      for (int64_t i = 0; i < local * 784; ++i) d_batch.data[i] = 2.0f * real.data[i] - 1.0f;
      std::copy_n(fake.data(), local * 784, d_batch.data.data() + local * 784);
      d_batch.labels.assign(static_cast<size_t>(2 * local), 0);
      std::fill_n(d_batch.labels.begin(), local, 1);
      const shardnet::LossStats d_stats = d->forward_loss(d_batch, Mode::kTrain);
      d->backward(d_batch, scale);
      d_sum.sum_gradients(d->params());
      d_opt->step(d->params(), s.lr);
      // The generator, through the updated discriminator, with target 1 (the non-saturating loss).
      g_batch.data = fake;
      g_batch.labels.assign(static_cast<size_t>(local), 1);
      const shardnet::LossStats g_stats = d->forward_loss(g_batch, Mode::kTrain);
      d->loss()->backward(d->output(d->size() - 1), g_batch, scale, d_logit_grad);
      d->backward_from(d_logit_grad, &d_fake_grad);
      g->backward_from(d_fake_grad);
      g_sum.sum_gradients(g->params());
      g_opt->step(g->params(), s.lr);

      std::vector<double> figures = {d_stats.loss_sum, g_stats.loss_sum, static_cast<double>(d_stats.correct)};
      comm.allreduce_sum(figures);
      d_loss_sum += figures[0] / s.batch;
      g_loss_sum += figures[1] / s.batch;
      if (leader && step % 50 == 0) {
        losses << epoch + 1 << "," << step << "," << figures[0] / s.batch << "," << figures[1] / s.batch << ","
               << figures[2] / (2.0 * s.batch) << "\n";
      }
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (leader) {
      std::printf("epoch %lld: D loss %.3f, G loss %.3f, %.0f s\n", static_cast<long long>(epoch + 1),
                  d_loss_sum / static_cast<double>(steps), g_loss_sum / static_cast<double>(steps), seconds);
      std::fflush(stdout);
      char name[64];
      std::snprintf(name, sizeof name, "/samples-%02lld.png", static_cast<long long>(epoch + 1));
      write_grid(*g, s.seed, s.out + name);
      shardnet::io::CheckpointMeta meta;
      meta.epoch = epoch + 1;
      meta.global_step = global_step;
      meta.global_batch = s.batch;
      meta.seed = s.seed;
      meta.world_size = comm.size();
      shardnet::io::save_checkpoint_set(
          s.out + "/gan.h5", {{"generator", *g, g_opt.get(), ""}, {"discriminator", *d, d_opt.get(), ""}}, meta);
    }
  }
  if (leader) {
    write_samples(*g, s.seed, s.samples, s.out + "/samples.h5");
    std::printf("wrote %s/samples.h5 (%lld samples)\n", s.out.c_str(), static_cast<long long>(s.samples));
  }
  return 0;
}

// The classifier's penultimate-layer features of every row of `path`, and its class histogram.
struct Scored {
  shardnet::FeatureMoments features{1};
  std::vector<int64_t> classes;
};

Scored score_file(Net& classifier, size_t feature_layer, const std::string& path) {
  shardnet::io::Dataset data(path);
  const int64_t outputs = shardnet::shape_numel(classifier.output_shape());
  Scored scored{shardnet::FeatureMoments(shardnet::shape_numel(classifier.shape_after(feature_layer))),
                std::vector<int64_t>(static_cast<size_t>(outputs), 0)};
  Batch batch;
  for (int64_t first = 0; first < data.size(); first += 500) {
    std::vector<int64_t> rows;
    for (int64_t r = first; r < std::min(data.size(), first + 500); ++r) rows.push_back(r);
    data.read(rows, batch);
    const Tensor& out = classifier.forward(batch.data, Mode::kEval);
    scored.features.add(classifier.output(feature_layer).span());
    for (int64_t i = 0; i < out.rows(); ++i) {
      const float* row = out.data() + i * outputs;
      ++scored.classes[std::max_element(row, row + outputs) - row];
    }
  }
  return scored;
}

int score(const std::string& classifier_path, const std::string& real_path, const std::vector<std::string>& samples) {
  const shardnet::io::CheckpointMeta meta = shardnet::io::read_checkpoint_meta(classifier_path);
  auto classifier = shardnet::parse_model(meta.model_text, classifier_path);
  shardnet::io::load_checkpoint(classifier_path, *classifier, nullptr);
  // The features: the input of the last dense layer (the classifier's penultimate representation).
  size_t last_dense = classifier->size();
  for (size_t i = 0; i < classifier->size(); ++i) {
    if (classifier->layer(i).type() == "dense") last_dense = i;
  }
  if (last_dense == classifier->size() || last_dense == 0) {
    throw std::runtime_error(classifier_path + ": the classifier has no dense layer after another layer");
  }
  const size_t feature_layer = last_dense - 1;
  const Scored real = score_file(*classifier, feature_layer, real_path);
  std::printf("features: %s's layer %s (%lld values); reference: %s (%lld images)\n", classifier_path.c_str(),
              classifier->layer(feature_layer).name().c_str(), static_cast<long long>(real.features.dims()),
              real_path.c_str(), static_cast<long long>(real.features.count()));
  std::printf("%-40s %10s %10s  %s\n", "samples", "FD", "min class", "class shares (%)");
  for (const std::string& path : samples) {
    const Scored s = score_file(*classifier, feature_layer, path);
    const auto count = static_cast<double>(s.features.count());
    std::string shares;
    double lowest = 1.0;
    for (int64_t c : s.classes) {
      shares += std::to_string(static_cast<int>(std::lround(100.0 * c / count))) + " ";
      lowest = std::min(lowest, c / count);
    }
    std::printf("%-40s %10.3f %9.1f%%  %s\n", path.c_str(), shardnet::frechet_distance(s.features, real.features),
                100.0 * lowest, shares.c_str());
  }
  return 0;
}

int run(int argc, char** argv) {
  const std::string usage =
      "usage: dcgan train --data MNIST-TRAIN.h5 --out DIR [--epochs N] [--batch B] [--seed S] [--samples N] "
      "[--steps-per-epoch N]\n"
      "       dcgan score --classifier CHECKPOINT.h5 --real MNIST-TEST.h5 SAMPLES.h5...";
  if (argc < 2) {
    std::fprintf(stderr, "%s\n", usage.c_str());
    return 2;
  }
  const std::string command = argv[1];
  TrainSettings t;
  std::string classifier, real;
  std::vector<std::string> files;
  for (int i = 2; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag.rfind("--", 0) != 0) {
      files.push_back(flag);
      continue;
    }
    if (i + 1 >= argc) throw std::invalid_argument(flag + " needs a value");
    const std::string v = argv[++i];
    if (flag == "--data")
      t.data = v;
    else if (flag == "--out")
      t.out = v;
    else if (flag == "--epochs")
      t.epochs = std::stoll(v);
    else if (flag == "--batch")
      t.batch = std::stoll(v);
    else if (flag == "--seed")
      t.seed = std::stoull(v);
    else if (flag == "--samples")
      t.samples = std::stoll(v);
    else if (flag == "--steps-per-epoch")
      t.steps_per_epoch = std::stoll(v);
    else if (flag == "--lr")
      t.lr = std::stof(v);
    else if (flag == "--classifier")
      classifier = v;
    else if (flag == "--real")
      real = v;
    else
      throw std::invalid_argument("unknown flag " + flag + " (dcgan without arguments lists them)");
  }
  if (command == "train" && !t.data.empty() && !t.out.empty() && t.epochs > 0 && t.batch > 0) return train(t);
  if (command == "score" && !classifier.empty() && !real.empty() && !files.empty())
    return score(classifier, real, files);
  throw std::invalid_argument(
      "'" + command + "' needs " +
      (command == "score" ? "--classifier, --real and samples files" : "to be train (with --data and --out) or score") +
      " (dcgan without arguments prints the usage)");
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dcgan: error: %s\n", e.what());
    return 1;
  }
}
