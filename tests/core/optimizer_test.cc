#include "core/optimizer.h"

#include <gtest/gtest.h>

#include <cmath>

namespace shardnet {
namespace {

Param scalar_param(float value, float grad, bool decay = true) {
  Param p{"layer/w", Tensor({1}), Tensor({1}), decay};
  p.value[0] = value;
  p.grad[0] = grad;
  return p;
}

TEST(Sgd, PlainStep) {
  OptimizerConfig c;
  Sgd sgd(c);
  Param p = scalar_param(1.0f, 0.5f);
  sgd.step({&p}, 0.1f);
  EXPECT_FLOAT_EQ(p.value[0], 0.95f);
}

TEST(Sgd, MomentumStepsByHand) {
  OptimizerConfig c;
  c.momentum = 0.9f;
  Sgd sgd(c);
  Param p = scalar_param(1.0f, 1.0f);
  sgd.step({&p}, 0.1f);  // v = 1, w = 0.9
  EXPECT_FLOAT_EQ(p.value[0], 0.9f);
  p.grad[0] = 0.5f;
  sgd.step({&p}, 0.1f);  // v = 0.9 + 0.5 = 1.4, w = 0.9 - 0.14 = 0.76
  EXPECT_FLOAT_EQ(p.value[0], 0.76f);
  EXPECT_FLOAT_EQ(sgd.state()["layer/w"]["momentum"][0], 1.4f);
  EXPECT_EQ(sgd.step_count(), 2);
}

TEST(Sgd, WeightDecaySkipsBiases) {
  OptimizerConfig c;
  c.weight_decay = 0.1f;
  Sgd sgd(c);
  Param w = scalar_param(2.0f, 0.0f, true);
  Param b = scalar_param(2.0f, 0.0f, false);
  sgd.step({&w, &b}, 0.5f);
  EXPECT_FLOAT_EQ(w.value[0], 2.0f - 0.5f * 0.1f * 2.0f);
  EXPECT_FLOAT_EQ(b.value[0], 2.0f);
}

TEST(Adam, StepsByHand) {
  OptimizerConfig c;
  c.type = "adam";
  Adam adam(c);
  Param p = scalar_param(1.0f, 0.2f);
  adam.step({&p}, 0.01f);
  // t=1: m = 0.02, v = 4e-5; mhat = 0.2, vhat = 0.04; step = 0.01 * 0.2 / (0.2 + 1e-8)
  EXPECT_NEAR(p.value[0], 1.0f - 0.01f, 1e-6);
  p.grad[0] = -0.1f;
  adam.step({&p}, 0.01f);
  const double m = 0.9 * 0.02 + 0.1 * -0.1, v = 0.999 * 4e-5 + 0.001 * 0.01;
  const double mhat = m / (1 - 0.81), vhat = v / (1 - 0.999 * 0.999);
  EXPECT_NEAR(p.value[0], 0.99 - 0.01 * mhat / (std::sqrt(vhat) + 1e-8), 1e-6);
}

TEST(Optimizer, FactoryRejectsUnknownType) {
  OptimizerConfig c;
  c.type = "adamw";
  EXPECT_THROW(make_optimizer(c), std::invalid_argument);
  c.type = "adam";
  EXPECT_EQ(make_optimizer(c)->type(), "adam");
}

}  // namespace
}  // namespace shardnet
