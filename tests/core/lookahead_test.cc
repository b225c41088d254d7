#include "core/lookahead.h"

#include <gtest/gtest.h>

#include <sstream>

#include "core/model_file.h"
#include "core/random.h"
#include "core/trainer.h"

namespace shardnet {
namespace {

TEST(LookaheadConfig, AlphaIsConstantOrRampsDownAsACube) {
  LookaheadConfig c;
  c.every = 5;
  c.alpha = 0.25f;
  EXPECT_FLOAT_EQ(c.alpha_at(0.0), 0.25f);
  EXPECT_FLOAT_EQ(c.alpha_at(0.7), 0.25f);
  c.ramp = LookaheadRamp::kCubic;
  EXPECT_FLOAT_EQ(c.alpha_at(0.0), 1.0f);
  EXPECT_FLOAT_EQ(c.alpha_at(0.5), 1.0f - 0.75f / 8.0f);
  EXPECT_FLOAT_EQ(c.alpha_at(1.0), 0.25f);
  EXPECT_FLOAT_EQ(c.alpha_at(3.0), 0.25f);  // past the run's end (a resumed, longer run): the end value
}

TEST(LookaheadConfig, RejectsWhatIsNotAStepCountOrAFraction) {
  LookaheadConfig c;
  c.every = -1;
  EXPECT_THROW(c.validate(), std::invalid_argument);
  c.every = 5;
  for (float alpha : {0.0f, -0.5f, 1.5f}) {
    c.alpha = alpha;
    EXPECT_THROW(c.validate(), std::invalid_argument) << alpha;
  }
  LookaheadRamp ramp;
  std::istringstream in("linear");
  EXPECT_THROW(in >> ramp, std::invalid_argument);
}

// One parameter under plain SGD with a constant gradient of 1: every step moves it by -lr, so each
// sync's result is known in closed form.
struct OneParam {
  Param p = Param::weight("w", {2});
  std::vector<Param*> params{&p};
  OneParam() {
    p.value[0] = 1.0f;
    p.value[1] = -2.0f;
    p.grad = Tensor({2});
  }
  void step(Optimizer& opt, Lookahead& lookahead) {
    p.grad[0] = p.grad[1] = 1.0f;
    opt.step(params, 0.1f);
    lookahead.after_step(opt.step_count(), 0);
  }
};

TEST(Lookahead, SyncsEveryKStepsAndEndsOnTheSlowWeights) {
  OneParam w;
  auto opt = make_optimizer(OptimizerConfig{});
  LookaheadConfig c;
  c.every = 2;
  c.alpha = 0.5f;
  Lookahead lookahead(c, w.params, *opt);
  lookahead.start();
  w.step(*opt, lookahead);
  EXPECT_FLOAT_EQ(w.p.value[0], 0.9f);  // no sync after step 1
  w.step(*opt, lookahead);
  // Step 2: fast 0.8, slow 1 -> 1 + 0.5 (0.8 - 1) = 0.9, and fast restarts there.
  EXPECT_FLOAT_EQ(w.p.value[0], 0.9f);
  EXPECT_FLOAT_EQ(w.p.value[1], -2.1f);
  w.step(*opt, lookahead);
  EXPECT_FLOAT_EQ(w.p.value[0], 0.8f);
  lookahead.finish();  // back to the slow weights of step 2
  EXPECT_FLOAT_EQ(w.p.value[0], 0.9f);
  EXPECT_FLOAT_EQ(w.p.value[1], -2.1f);
}

TEST(Lookahead, KeepsTheSlowWeightsInTheOptimizerStateForCheckpoints) {
  OneParam w;
  auto opt = make_optimizer(OptimizerConfig{});
  LookaheadConfig c;
  c.every = 2;
  c.alpha = 0.5f;
  {
    Lookahead first(c, w.params, *opt);
    first.start();
    w.step(*opt, first);
  }
  ASSERT_EQ(opt->state()["w"].count(kLookaheadSlot), 1u);
  EXPECT_FLOAT_EQ(opt->state()["w"].at(kLookaheadSlot)[0], 1.0f);
  // A resumed run builds a new Lookahead over the restored state: start() keeps the slow weights.
  Lookahead resumed(c, w.params, *opt);
  resumed.start();
  w.step(*opt, resumed);
  EXPECT_FLOAT_EQ(w.p.value[0], 0.9f);  // from the slow 1.0, not from the fast 0.9 a fresh start would take
}

TEST(Lookahead, TheRampStartsWithoutAveragingAndEndsAtAlpha) {
  LookaheadConfig c;
  c.every = 1;
  c.alpha = 0.5f;
  c.ramp = LookaheadRamp::kCubic;
  for (const auto& [step, total, expected] : {std::tuple{1, 1000000, 0.9f}, std::tuple{10, 10, 0.95f}}) {
    OneParam w;
    auto opt = make_optimizer(OptimizerConfig{});
    opt->set_step_count(step - 1);
    Lookahead lookahead(c, w.params, *opt);
    lookahead.start();
    w.p.grad[0] = w.p.grad[1] = 1.0f;
    opt->step(w.params, 0.1f);
    lookahead.after_step(opt->step_count(), total);
    EXPECT_NEAR(w.p.value[0], expected, 1e-6) << "step " << step << " of " << total;
  }
}

// The trainer: a lookahead run ends on its slow weights, and differs from the same run without one.
class Blobs : public BatchSource {
 public:
  explicit Blobs(int64_t n) : data_({n, 2}), labels_(static_cast<size_t>(n)) {
    CounterRng rng(7);
    for (int64_t i = 0; i < n; ++i) {
      labels_[i] = static_cast<int32_t>(rng.below(2));
      data_[2 * i] = (labels_[i] ? 1.0f : -1.0f) + 0.5f * rng.normal();
      data_[2 * i + 1] = 0.5f * rng.normal();
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
  }

 private:
  Tensor data_;
  std::vector<int32_t> labels_;
};

std::vector<float> trained(const LookaheadConfig& lookahead, std::vector<float>* slow = nullptr) {
  auto net = parse_model(
      "[input] shape = 2\n[dense] outputs = 8\n[tanh]\n[dense] outputs = 2\n[softmax_cross_entropy]\n", "mlp");
  net->initialize(2);
  OptimizerConfig oc;
  oc.kind = OptimizerKind::kNesterov;
  auto opt = make_optimizer(oc);
  TrainOptions options;
  options.global_batch = 16;
  options.epochs = 2;
  options.max_steps = 23;  // not a multiple of k: the last fast steps are dropped at the end
  options.lr.base = 0.1f;
  options.lookahead = lookahead;
  Blobs data(256);
  Collective single;
  TrainObserver quiet;
  Trainer(*net, *opt, single, options).fit(data, nullptr, quiet);
  std::vector<float> flat;
  for (Param* p : net->params()) {
    flat.insert(flat.end(), p->value.span().begin(), p->value.span().end());
    if (slow != nullptr) {
      const Tensor& s = opt->state()[p->name].at(kLookaheadSlot);
      slow->insert(slow->end(), s.span().begin(), s.span().end());
    }
  }
  return flat;
}

TEST(Lookahead, TrainingEndsOnTheSlowWeights) {
  LookaheadConfig c;
  c.every = 5;
  c.alpha = 0.5f;
  std::vector<float> slow;
  const auto with = trained(c, &slow);
  EXPECT_EQ(with, slow);
  const auto without = trained(LookaheadConfig{});
  ASSERT_EQ(with.size(), without.size());
  double difference = 0.0;
  for (size_t i = 0; i < with.size(); ++i) difference += std::abs(with[i] - without[i]);
  EXPECT_GT(difference, 1e-3);
}

}  // namespace
}  // namespace shardnet
