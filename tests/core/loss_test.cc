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

}  // namespace
}  // namespace shardnet
