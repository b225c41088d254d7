#include "core/batchnorm.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/gradient_checker.h"

namespace shardnet {
namespace {

using testing::check_layer_gradients;
using testing::random_tensor;

TEST(BatchNorm, NormalisesEachChannelInTraining) {
  BatchNorm bn("bn", BatchNormConfig{});
  bn.setup({3, 4, 5});
  const Tensor x = random_tensor({6, 3, 4, 5}, 1, -3.0f, 5.0f);
  Tensor y;
  bn.forward(x, y, Mode::kTrain);
  for (int64_t c = 0; c < 3; ++c) {
    double s = 0.0, s2 = 0.0;
    for (int64_t i = 0; i < 6; ++i)
      for (int64_t p = 0; p < 20; ++p) {
        const double v = y[(i * 3 + c) * 20 + p];
        s += v;
        s2 += v * v;
      }
    EXPECT_NEAR(s / 120.0, 0.0, 1e-5);
    EXPECT_NEAR(s2 / 120.0, 1.0, 1e-3);
  }
}

TEST(BatchNorm, RunningStatisticsAndEvaluation) {
  BatchNorm bn("bn", BatchNormConfig{0.5f, 1e-5f, true});
  bn.setup({2});
  Tensor x({4, 2});
  const float xs[] = {1, 10, 2, 20, 3, 30, 4, 40};
  std::copy(xs, xs + 8, x.data());
  Tensor y;
  bn.forward(x, y, Mode::kTrain);
  auto buffers = bn.buffers();
  // mean 2.5, unbiased variance 5/3 for feature 0; running = 0.5 * initial + 0.5 * batch
  EXPECT_NEAR(buffers[0]->value[0], 1.25, 1e-6);
  EXPECT_NEAR(buffers[1]->value[0], 0.5 + 0.5 * (5.0 / 3.0), 1e-5);
  bn.forward(x, y, Mode::kEval);
  EXPECT_NEAR(y[0], (1.0 - 1.25) / std::sqrt(buffers[1]->value[0] + 1e-5), 1e-5);
}

TEST(BatchNorm, RefusesOneValuePerChannelInTraining) {
  BatchNorm flat("bn", BatchNormConfig{0.1f, 1e-5f, true});
  flat.setup({3});
  Tensor one({1, 3}), y;
  one.fill(2.0f);
  // Once silently beta for any input; PyTorch raises "Expected more than 1 value per channel".
  EXPECT_THROW(flat.forward(one, y, Mode::kTrain), std::invalid_argument);
  EXPECT_NO_THROW(flat.forward(one, y, Mode::kEval));  // the running statistics serve
  BatchNorm conv("bn", BatchNormConfig{0.1f, 1e-5f, true});
  conv.setup({2, 3, 3});
  Tensor image({1, 2, 3, 3});
  EXPECT_NO_THROW(conv.forward(image, y, Mode::kTrain));  // 9 values per channel in one image
}

TEST(BatchNorm, GradientsMatchFiniteDifferencesForDenseAndConvInputs) {
  BatchNorm dense("bn", BatchNormConfig{});
  dense.setup({5});
  dense.gamma().value = random_tensor({5}, 2, 0.5f, 1.5f);
  dense.beta().value = random_tensor({5}, 3);
  check_layer_gradients(dense, random_tensor({8, 5}, 4, -2.0f, 2.0f));

  BatchNorm conv("bn", BatchNormConfig{});
  conv.setup({3, 3, 4});
  conv.gamma().value = random_tensor({3}, 5, 0.5f, 1.5f);
  conv.beta().value = random_tensor({3}, 6);
  check_layer_gradients(conv, random_tensor({4, 3, 3, 4}, 7, -2.0f, 2.0f));
}

TEST(BatchNorm, RejectsOtherRanks) {
  BatchNorm bn("bn", BatchNormConfig{});
  EXPECT_THROW(bn.setup({2, 3}), ShapeError);
}

}  // namespace
}  // namespace shardnet
