#include "core/loss.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/gradient_checker.h"

namespace shardnet {
namespace {

using testing::check_loss_gradients;
using testing::random_tensor;

TEST(SoftmaxCrossEntropy, MatchesDefinitionAndCountsCorrect) {
  SoftmaxCrossEntropy loss;
  loss.setup({3});
  Batch batch;
  batch.data = Tensor({2, 1});
  batch.labels = {2, 0};
  Tensor z({2, 3});
  const float zs[] = {1.0f, 2.0f, 3.0f, 0.0f, 5.0f, 0.0f};
  std::copy(zs, zs + 6, z.data());
  const LossStats s = loss.forward(z, batch);
  const double l0 = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0)) - 3.0;
  const double l1 = std::log(2.0 + std::exp(5.0)) - 0.0;
  EXPECT_NEAR(s.loss_sum, l0 + l1, 1e-5);
  EXPECT_EQ(s.correct, 1);
  EXPECT_EQ(s.count, 2);
}

TEST(SoftmaxCrossEntropy, StaysFiniteForHugeLogits) {
  SoftmaxCrossEntropy loss;
  loss.setup({2});
  Batch batch;
  batch.labels = {1};
  Tensor z({1, 2});
  z[0] = 1e4f;
  z[1] = -1e4f;
  const LossStats s = loss.forward(z, batch);
  EXPECT_TRUE(std::isfinite(s.loss_sum));
  EXPECT_NEAR(s.loss_sum, 2e4, 1.0);
  Tensor grad;
  loss.backward(z, batch, 1.0f, grad);
  EXPECT_TRUE(std::isfinite(grad[0]) && std::isfinite(grad[1]));
}

TEST(SoftmaxCrossEntropy, GradientsMatchFiniteDifferences) {
  SoftmaxCrossEntropy loss;
  loss.setup({5});
  Batch batch;
  batch.labels = {0, 3, 4, 1};
  check_loss_gradients(loss, random_tensor({4, 5}, 1, -2.0f, 2.0f), batch, 1.0f / 4.0f);
}

// Label smoothing e: the target is (1 - e) on the class plus e / K on every class.
TEST(SoftmaxCrossEntropy, LabelSmoothingMatchesDefinitionAndGradients) {
  const float e = 0.1f;
  SoftmaxCrossEntropy loss(e);
  loss.setup({4});
  Tensor z = random_tensor({3, 4}, 7, -2.0f, 2.0f);
  Batch batch;
  batch.labels = {2, 0, 3};
  double expected = 0.0;
  for (int64_t i = 0; i < 3; ++i) {
    double sum = 0.0;
    for (int64_t j = 0; j < 4; ++j) sum += std::exp(static_cast<double>(z[i * 4 + j]));
    for (int64_t j = 0; j < 4; ++j) {
      const double q = (j == batch.labels[i] ? 1.0 - e : 0.0) + e / 4.0;
      expected -= q * (z[i * 4 + j] - std::log(sum));
    }
  }
  EXPECT_NEAR(loss.forward(z, batch).loss_sum, expected, 1e-5);
  check_loss_gradients(loss, z, batch, 0.5f);
  EXPECT_THROW(SoftmaxCrossEntropy(1.0f), std::invalid_argument);
}

TEST(SoftmaxCrossEntropy, RejectsLabelOutsideClasses) {
  SoftmaxCrossEntropy loss;
  loss.setup({3});
  Batch batch;
  batch.labels = {3};
  EXPECT_THROW(loss.forward(Tensor({1, 3}), batch), std::out_of_range);
}

TEST(SoftmaxCrossEntropy, NeedsFlatInput) {
  SoftmaxCrossEntropy loss;
  EXPECT_THROW(loss.setup({2, 3, 3}), ShapeError);
}

TEST(MeanSquaredError, MatchesDefinitionAndGradients) {
  MeanSquaredError loss;
  loss.setup({3});
  Batch batch;
  batch.targets = random_tensor({2, 3}, 2);
  const Tensor out = random_tensor({2, 3}, 3);
  double expected = 0.0;
  for (int i = 0; i < 2; ++i) {
    double s = 0.0;
    for (int j = 0; j < 3; ++j) s += std::pow(out[i * 3 + j] - batch.targets[i * 3 + j], 2.0);
    expected += s / 3.0;
  }
  EXPECT_NEAR(loss.forward(out, batch).loss_sum, expected, 1e-6);
  check_loss_gradients(loss, out, batch, 0.5f);
}

TEST(Huber, QuadraticWithinDeltaLinearBeyondAndGradients) {
  Huber loss(0.5f);
  loss.setup({3});
  Batch batch;
  batch.targets = Tensor({2, 3});
  Tensor out({2, 3});
  const float errors[] = {0.1f, -0.3f, 2.0f, -1.5f, 0.45f, 0.7f};  // both sides of delta, both signs
  for (int i = 0; i < 6; ++i) {
    batch.targets[i] = 0.25f * static_cast<float>(i);
    out[i] = batch.targets[i] + errors[i];
  }
  double expected = 0.0;
  for (float e : errors) {
    const double a = std::abs(e);
    expected += (a <= 0.5 ? 0.5 * a * a : 0.5 * (a - 0.25)) / 3.0;
  }
  EXPECT_NEAR(loss.forward(out, batch).loss_sum, expected, 1e-6);
  check_loss_gradients(loss, out, batch, 0.5f);
  Tensor d;
  loss.backward(out, batch, 1.0f, d);
  EXPECT_FLOAT_EQ(d[2], 0.5f / 3.0f);  // beyond delta the gradient is delta, whatever the error
  EXPECT_FLOAT_EQ(d[3], -0.5f / 3.0f);
  EXPECT_THROW(Huber(0.0f), std::invalid_argument);
}

TEST(MeanSquaredError, TargetInputComparesWithTheSampleItself) {
  MeanSquaredError loss(RegressionTarget::kInput);
  loss.setup({1, 2, 2});
  Batch batch;
  batch.data = random_tensor({3, 1, 2, 2}, 4);
  const Tensor out = random_tensor({3, 1, 2, 2}, 5);
  double expected = 0.0;
  for (int64_t i = 0; i < out.numel(); ++i) expected += std::pow(out[i] - batch.data[i], 2.0) / 4.0;
  EXPECT_NEAR(loss.forward(out, batch).loss_sum, expected, 1e-6);
  check_loss_gradients(loss, out, batch, 1.0f / 3);
  // Any /label works (class ids too), but the input must have as many values as the output.
  DataDescription data{"d.h5", {4}, true, 10, {}, 0, {}};
  EXPECT_NO_THROW(loss.check_targets(data, {1, 2, 2}));
  data.sample_shape = {5};
  EXPECT_THROW(loss.check_targets(data, {1, 2, 2}), std::invalid_argument);
}

Tensor logits(std::initializer_list<float> values, int64_t classes) {
  Tensor z({static_cast<int64_t>(values.size()) / classes, classes});
  std::copy(values.begin(), values.end(), z.data());
  return z;
}

TEST(MulticlassHinge, MatchesTheSvmLossAndCountsCorrect) {
  MulticlassHinge loss(1.0f);
  loss.setup({3});
  Batch batch;
  batch.labels = {0, 1};
  // Sample 0: label 0 scores 1; max(0, 1 - 1 + 2) + max(0, 1 - 1 + 0) = 2. Sample 1: label 1 scores 5,
  // every margin met: 0.
  const Tensor z = logits({1, 2, 0, 0, 5, 3}, 3);
  const LossStats s = loss.forward(z, batch);
  EXPECT_NEAR(s.loss_sum, 2.0, 1e-6);
  EXPECT_EQ(s.correct, 1);
  Tensor d;
  loss.backward(z, batch, 1.0f, d);
  const float expected[] = {-1, 1, 0, 0, 0, 0};  // one violation in sample 0; none in sample 1
  for (int i = 0; i < 6; ++i) EXPECT_EQ(d[i], expected[i]) << i;
  MulticlassHinge wide(3.0f);  // a margin of 3: sample 1's class 2 (3 > 5 - 3) now violates it
  wide.setup({3});
  EXPECT_NEAR(wide.forward(z, batch).loss_sum, (3 - 1 + 2) + (3 - 1 + 0) + (3 - 5 + 3.0), 1e-6);
  check_loss_gradients(wide, z, batch, 0.5f);
}

TEST(PerceptronCriterion, IsZeroWhenRightAndTheScoreGapWhenWrong) {
  PerceptronCriterion loss;
  loss.setup({3});
  Batch batch;
  batch.labels = {2, 1};
  const Tensor z = logits({1, 4, 2, 0, 5, 3}, 3);  // sample 0 wrong by 4 - 2, sample 1 right
  const LossStats s = loss.forward(z, batch);
  EXPECT_NEAR(s.loss_sum, 2.0, 1e-6);
  EXPECT_EQ(s.correct, 1);
  Tensor d;
  loss.backward(z, batch, 1.0f, d);
  const float expected[] = {0, 1, -1, 0, 0, 0};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(d[i], expected[i]) << i;
}

TEST(PerceptronCriterion, BinaryFormOnOneOutput) {
  PerceptronCriterion loss;
  loss.setup({1});
  Batch batch;
  batch.labels = {1, 0, 0};
  const Tensor z = logits({-0.5f, -2.0f, 1.5f}, 1);  // wrong, right, wrong
  const LossStats s = loss.forward(z, batch);
  EXPECT_NEAR(s.loss_sum, 0.5 + 1.5, 1e-6);
  EXPECT_EQ(s.correct, 1);
  check_loss_gradients(loss, z, batch, 1.0f);
  DataDescription two_classes{"d.h5", {4}, true, 2, {}, 0, {}};
  EXPECT_NO_THROW(loss.check_targets(two_classes, {1}));
  two_classes.num_classes = 3;
  EXPECT_THROW(loss.check_targets(two_classes, {1}), std::invalid_argument);
}

// Class ids on K outputs: one binary classifier per output, target 1 on the label's (skip-gram's
// context at output 0, its noise words after it).
TEST(SigmoidCrossEntropy, ClassIdsOnSeveralOutputsAreOneAgainstTheRest) {
  SigmoidCrossEntropy loss;
  loss.setup({3});
  Batch batch;
  batch.labels = {0, 2};
  const Tensor z = logits({2, -1, -3, 1, -2, 0.5f}, 3);
  auto bce = [](double z, double y) { return std::max(z, 0.0) - z * y + std::log1p(std::exp(-std::abs(z))); };
  const double expected = bce(2, 1) + bce(-1, 0) + bce(-3, 0) + bce(1, 0) + bce(-2, 0) + bce(0.5, 1);
  const LossStats s = loss.forward(z, batch);
  EXPECT_NEAR(s.loss_sum, expected, 1e-5);
  EXPECT_EQ(s.correct, 1);  // sample 1's output 0 is on the wrong side
  check_loss_gradients(loss, z, batch, 0.5f);
  batch.labels = {0, 3};
  EXPECT_THROW(loss.forward(z, batch), std::out_of_range);
}

}  // namespace
}  // namespace shardnet
