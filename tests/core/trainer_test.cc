#include "core/trainer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <tuple>

#include "core/model_file.h"
#include "core/random.h"

namespace shardnet {
namespace {

// Two Gaussian blobs per class in 2-D, class = quadrant sign pattern; kept in memory.
class BlobSource : public BatchSource {
 public:
  explicit BlobSource(int64_t n, uint64_t seed) : data_({n, 2}), labels_(static_cast<size_t>(n)) {
    CounterRng rng(seed);
    for (int64_t i = 0; i < n; ++i) {
      const int label = static_cast<int>(rng.below(4));
      labels_[i] = label;
      data_[2 * i] = (label & 1 ? 1.5f : -1.5f) + 0.5f * rng.normal();
      data_[2 * i + 1] = (label & 2 ? 1.5f : -1.5f) + 0.5f * rng.normal();
    }
  }
  int64_t size() const override { return data_.rows(); }
  Shape sample_shape() const override { return {2}; }
  void read(std::span<const int64_t> rows, Batch& batch) override {
    batch.data.reshape({static_cast<int64_t>(rows.size()), 2});
    batch.labels.resize(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      batch.data[2 * i] = data_[2 * rows[i]];
      batch.data[2 * i + 1] = data_[2 * rows[i] + 1];
      batch.labels[i] = labels_[rows[i]];
    }
    // One-hot targets too, for regression losses.
    batch.targets.reshape({static_cast<int64_t>(rows.size()), 4});
    batch.targets.zero();
    for (size_t i = 0; i < rows.size(); ++i) batch.targets[4 * i + batch.labels[i]] = 1.0f;
  }

 private:
  Tensor data_;
  std::vector<int32_t> labels_;
};

class Recorder : public TrainObserver {
 public:
  void on_step(const StepReport& s) override { ++steps; }
  void on_epoch(const EpochReport& e) override { epochs.push_back(e); }
  int steps = 0;
  std::vector<EpochReport> epochs;
};

const char* kMlp = "[input] shape = 2\n[dense] outputs = 16\n[relu]\n[dense] outputs = 4\n[softmax_cross_entropy]\n";

TEST(Trainer, LearnsSeparableBlobs) {
  auto net = parse_model(kMlp, "mlp");
  net->initialize(1);
  OptimizerConfig oc;
  oc.kind = OptimizerKind::kSgd;
  oc.momentum = 0.9f;
  auto opt = make_optimizer(oc);
  TrainOptions options;
  options.epochs = 5;
  options.global_batch = 32;
  options.lr.base = 0.05f;
  BlobSource train(2048, 1), test(512, 2);
  Collective single;
  Recorder recorder;
  Trainer(*net, *opt, single, options).fit(train, &test, recorder);
  ASSERT_EQ(recorder.epochs.size(), 5u);
  EXPECT_EQ(recorder.steps, 5 * 64);
  EXPECT_LT(recorder.epochs.back().train_loss, recorder.epochs.front().train_loss);
  EXPECT_GT(recorder.epochs.back().test_accuracy, 0.95);
}

TEST(Trainer, SameSeedSameParameters) {
  std::vector<std::vector<float>> results;
  for (int run = 0; run < 2; ++run) {
    auto net = parse_model(kMlp, "mlp");
    net->initialize(3);
    OptimizerConfig oc;
    oc.kind = OptimizerKind::kAdam;
    auto opt = make_optimizer(oc);
    TrainOptions options;
    options.global_batch = 16;
    options.max_steps = 20;
    options.lr.base = 0.01f;
    BlobSource train(500, 1);
    Collective single;
    Recorder recorder;
    Trainer(*net, *opt, single, options).fit(train, nullptr, recorder);
    EXPECT_EQ(recorder.steps, 20);
    std::vector<float> flat;
    for (Param* p : net->params()) flat.insert(flat.end(), p->value.span().begin(), p->value.span().end());
    results.push_back(flat);
  }
  EXPECT_EQ(results[0], results[1]);
}

TEST(Trainer, StopsOnDivergence) {
  auto net = parse_model("[input] shape = 2\n[dense] outputs = 4\n[mse]\n", "m");
  net->initialize(1);
  OptimizerConfig oc;
  auto opt = make_optimizer(oc);
  TrainOptions options;
  options.global_batch = 16;
  options.lr.base = 50.0f;  // far beyond stability for a quadratic loss
  options.epochs = 3;
  BlobSource train(512, 1);
  Collective single;
  Recorder recorder;
  try {
    Trainer(*net, *opt, single, options).fit(train, nullptr, recorder);
    FAIL() << "a diverging run did not stop";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("diverged"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace shardnet

namespace shardnet {
namespace {

// Records every checkpoint request and what the parameters were then.
class RecordingSink : public CheckpointSink {
 public:
  explicit RecordingSink(Net& net) : net_(net) {}
  void save(const TrainPosition& next) override {
    positions.push_back(next);
    for (Param* p : net_.params())
      for (float v : p->value.span()) all_finite = all_finite && std::isfinite(v);
  }
  std::vector<TrainPosition> positions;
  bool all_finite = true;

 private:
  Net& net_;
};

TEST(LrSchedule, Shapes) {
  LrSchedule s;
  s.base = 1.0f;
  EXPECT_FLOAT_EQ(s.at(3.7), 1.0f);
  s.kind = LrScheduleKind::kStep;
  s.step_epochs = 2.0f;
  s.gamma = 0.5f;
  EXPECT_FLOAT_EQ(s.at(1.9), 1.0f);
  EXPECT_FLOAT_EQ(s.at(2.0), 0.5f);
  EXPECT_FLOAT_EQ(s.at(5.0), 0.25f);
  s.kind = LrScheduleKind::kExponential;
  EXPECT_NEAR(s.at(1.5), std::pow(0.5, 1.5), 1e-6);
  s.kind = LrScheduleKind::kCosine;
  s.total_epochs = 10.0f;
  EXPECT_FLOAT_EQ(s.at(0.0), 1.0f);
  EXPECT_NEAR(s.at(5.0), 0.5, 1e-6);
  EXPECT_NEAR(s.at(10.0), 0.0, 1e-6);
  s.kind = LrScheduleKind::kConstant;
  s.warmup_epochs = 2.0f;
  EXPECT_NEAR(s.at(0.0), 0.1, 1e-6);
  EXPECT_NEAR(s.at(1.0), 0.55, 1e-6);
  EXPECT_FLOAT_EQ(s.at(2.0), 1.0f);
  s.kind = LrScheduleKind::kLinear;  // to 0 over total_epochs, after the warm-up
  s.warmup_epochs = 0.0f;
  EXPECT_NO_THROW(s.validate());
  EXPECT_FLOAT_EQ(s.at(0.0), 1.0f);
  EXPECT_NEAR(s.at(2.5), 0.75, 1e-6);
  EXPECT_NEAR(s.at(12.0), 0.0, 1e-6);
  EXPECT_THROW(parse_schedule_kind("triangle"), std::invalid_argument);
  EXPECT_EQ(parse_schedule_kind(schedule_name(LrScheduleKind::kCosine)), LrScheduleKind::kCosine);
}

TEST(Trainer, ClipsTheGlobalGradientNorm) {
  Param a = Param::weight("a", {2}), b = Param::weight("b", {1});
  a.grad[0] = 3.0f;
  a.grad[1] = 0.0f;
  b.grad[0] = 4.0f;  // norm 5
  clip_gradients({&a, &b}, 1.0f);
  EXPECT_FLOAT_EQ(a.grad[0], 0.6f);
  EXPECT_FLOAT_EQ(b.grad[0], 0.8f);
  clip_gradients({&a, &b}, 2.0f);  // already within
  EXPECT_FLOAT_EQ(b.grad[0], 0.8f);
}

TEST(Trainer, CheckpointsPeriodicallyAtEpochEndsAndAtTheStop) {
  auto net = parse_model(kMlp, "mlp");
  net->initialize(1);
  auto opt = make_optimizer(OptimizerConfig{});
  TrainOptions options;
  options.epochs = 3;
  options.global_batch = 10;
  options.checkpoint_every = 4;
  options.max_steps = 25;
  BlobSource train(100, 1);  // 10 steps per epoch
  Collective single;
  Recorder recorder;
  RecordingSink sink(*net);
  Trainer(*net, *opt, single, options).fit(train, nullptr, recorder, {}, &sink);
  std::vector<std::tuple<int64_t, int64_t, int64_t>> got;
  for (const auto& p : sink.positions) got.emplace_back(p.epoch, p.step, p.global_step);
  const std::vector<std::tuple<int64_t, int64_t, int64_t>> expected = {{0, 4, 4},  {0, 8, 8},  {1, 0, 10}, {1, 2, 12},
                                                                       {1, 6, 16}, {2, 0, 20}, {2, 4, 24}, {2, 5, 25}};
  EXPECT_EQ(got, expected);
}

TEST(Trainer, NeverCheckpointsADivergedModel) {
  auto net = parse_model("[input] shape = 2\n[dense] outputs = 4\n[mse]\n", "m");
  net->initialize(1);
  auto opt = make_optimizer(OptimizerConfig{});
  TrainOptions options;
  options.global_batch = 16;
  options.lr.base = 50.0f;
  options.epochs = 3;
  options.checkpoint_every = 1;
  BlobSource train(512, 1);
  Collective single;
  Recorder recorder;
  RecordingSink sink(*net);
  EXPECT_THROW(Trainer(*net, *opt, single, options).fit(train, nullptr, recorder, {}, &sink), std::runtime_error);
  EXPECT_TRUE(sink.all_finite);
  EXPECT_FALSE(sink.positions.empty());
}

}  // namespace
}  // namespace shardnet

#include "core/subset_source.h"

namespace shardnet {
namespace {

TEST(Trainer, EarlyStoppingOnAValidationSplit) {
  auto [train_rows, val_rows] = split_rows(1000, 0.2, 5);
  EXPECT_EQ(val_rows.size(), 200u);
  EXPECT_EQ(train_rows.size(), 800u);
  std::vector<int64_t> all(train_rows);
  all.insert(all.end(), val_rows.begin(), val_rows.end());
  std::sort(all.begin(), all.end());
  for (int64_t i = 0; i < 1000; ++i) ASSERT_EQ(all[i], i);
  EXPECT_THROW(split_rows(10, 1.0, 1), std::invalid_argument);

  auto net = parse_model(kMlp, "mlp");
  net->initialize(1);
  OptimizerConfig oc;
  oc.momentum = 0.0f;
  auto opt = make_optimizer(oc);
  TrainOptions options;
  options.epochs = 20;
  options.global_batch = 50;
  options.lr.base = 1e-9f;  // effectively frozen: the validation loss cannot improve after epoch 1
  BlobSource data(1000, 1);
  SubsetSource train(data, train_rows), validation(data, val_rows);
  Collective single;
  Recorder recorder;
  Trainer trainer(*net, *opt, single, options);
  trainer.set_validation(&validation, 2);
  trainer.fit(train, nullptr, recorder);
  ASSERT_EQ(recorder.epochs.size(), 3u);  // epoch 1 sets the best; 2 and 3 do not improve
  EXPECT_TRUE(recorder.epochs.back().stopped_early);
  EXPECT_FALSE(std::isnan(recorder.epochs[0].val_accuracy));
}

}  // namespace
}  // namespace shardnet

namespace shardnet {
namespace {

// Two untrained nets (different seeds) as an ensemble: the score from their averaged softmax
// probabilities, computed here by hand; one member alone scores as evaluate() does.
TEST(EvaluateEnsemble, AveragesTheMembersClassProbabilities) {
  auto a = parse_model(kMlp, "a"), b = parse_model(kMlp, "b");
  a->initialize(1);
  b->initialize(2);
  BlobSource test(300, 3);
  Collective single;
  Batch all;
  std::vector<int64_t> rows(300);
  for (int64_t i = 0; i < 300; ++i) rows[i] = i;
  test.read(rows, all);
  const Tensor za = a->forward(all.data, Mode::kEval), zb = b->forward(all.data, Mode::kEval);
  int64_t correct = 0;
  double loss = 0.0;
  for (int64_t i = 0; i < 300; ++i) {
    double p[4], sa = 0.0, sb = 0.0;
    for (int j = 0; j < 4; ++j) {
      sa += std::exp(za[i * 4 + j]);
      sb += std::exp(zb[i * 4 + j]);
    }
    for (int j = 0; j < 4; ++j) p[j] = 0.5 * (std::exp(za[i * 4 + j]) / sa + std::exp(zb[i * 4 + j]) / sb);
    correct += std::max_element(p, p + 4) - p == all.labels[i] ? 1 : 0;
    loss -= std::log(p[all.labels[i]]);
  }
  std::vector<Net*> both = {a.get(), b.get()};
  const LossStats e = evaluate_ensemble(both, test, 64, single);
  EXPECT_EQ(e.count, 300);
  EXPECT_EQ(e.correct, correct);
  EXPECT_NEAR(e.loss_sum, loss, 1e-3);
  std::vector<Net*> one = {a.get()};
  const LossStats alone = evaluate_ensemble(one, test, 64, single), direct = evaluate(*a, test, 64, single);
  EXPECT_EQ(alone.correct, direct.correct);
  EXPECT_NEAR(alone.loss_sum, direct.loss_sum, 1e-3);
  auto other_input = parse_model("[input] shape = 3\n[dense] outputs = 4\n[softmax_cross_entropy]\n", "c");
  std::vector<Net*> mismatched = {a.get(), other_input.get()};
  EXPECT_THROW(evaluate_ensemble(mismatched, test, 64, single), std::invalid_argument);
}

}  // namespace
}  // namespace shardnet

namespace shardnet {
namespace {

class NormRecorder : public TrainObserver {
 public:
  void on_step(const StepReport& s) override { last.assign(s.layer_norms.begin(), s.layer_norms.end()); }
  void on_epoch(const EpochReport& e) override { epoch = e.layer_norms; }
  std::vector<LayerNorms> last, epoch;
};

// The norms reported after the last step are those of the gradients and weights the net holds then
// (SGD with a vanishing lr leaves both as the step found them); the epoch's are the mean over its steps.
TEST(Trainer, LogsEachLayersGradientAndWeightNorms) {
  auto net = parse_model(kMlp, "mlp");
  net->initialize(1);
  OptimizerConfig oc;
  oc.kind = OptimizerKind::kSgd;
  auto opt = make_optimizer(oc);
  TrainOptions options;
  options.global_batch = 32;
  options.lr.base = 1e-30f;  // far below the weights' precision: the steps leave them as they are
  options.log_grad_norms = true;
  BlobSource train(32 * 3, 1);
  Collective single;
  NormRecorder recorder;
  Trainer(*net, *opt, single, options).fit(train, nullptr, recorder);
  ASSERT_EQ(recorder.last.size(), 2u) << "the two dense layers; relu has no parameters";
  EXPECT_EQ(recorder.last[0].layer, "dense1");
  for (size_t layer = 0; layer < 2; ++layer) {
    double g = 0.0, w = 0.0;
    for (const Param* p : net->layer(layer * 2).params()) {
      for (float v : p->grad.span()) g += static_cast<double>(v) * v;
      for (float v : p->value.span()) w += static_cast<double>(v) * v;
    }
    EXPECT_NEAR(recorder.last[layer].gradient, std::sqrt(g), 1e-6 * std::sqrt(g));
    EXPECT_NEAR(recorder.last[layer].weight, std::sqrt(w), 1e-6 * std::sqrt(w));
    EXPECT_GT(recorder.last[layer].gradient, 0.0);
    // Every step sees the same weights but another batch: the mean differs from the last.
    EXPECT_NE(recorder.epoch[layer].gradient, recorder.last[layer].gradient);
    EXPECT_GT(recorder.epoch[layer].gradient, 0.0);
  }
}

}  // namespace
}  // namespace shardnet
