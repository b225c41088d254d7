#include "core/activation.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "tests/gradient_checker.h"

namespace shardnet {
namespace {

using testing::check_layer_gradients;
using testing::distinct_tensor;
using testing::random_tensor;

TEST(Activation, ValuesAtKnownPoints) {
  Tensor x({1, 3});
  x[0] = -2.0f;
  x[1] = 0.0f;
  x[2] = 3.0f;
  Tensor y;
  ReLU relu("relu");
  relu.forward(x, y, Mode::kEval);
  EXPECT_EQ(y[0], 0.0f);
  EXPECT_EQ(y[2], 3.0f);
  Sigmoid sigmoid("sigmoid");
  sigmoid.forward(x, y, Mode::kEval);
  EXPECT_FLOAT_EQ(y[1], 0.5f);
  EXPECT_NEAR(y[2], 1.0 / (1.0 + std::exp(-3.0)), 1e-6);
  Tanh tanh_layer("tanh");
  tanh_layer.forward(x, y, Mode::kEval);
  EXPECT_NEAR(y[0], std::tanh(-2.0), 1e-6);
}

TEST(Activation, GradientsMatchFiniteDifferences) {
  ReLU relu("relu");
  relu.setup({4, 5});
  check_layer_gradients(relu, distinct_tensor({3, 4, 5}, 1, 0.05f));  // no inputs near the kink
  Sigmoid sigmoid("sigmoid");
  sigmoid.setup({6});
  check_layer_gradients(sigmoid, random_tensor({3, 6}, 2, -3.0f, 3.0f));
  Tanh tanh_layer("tanh");
  tanh_layer.setup({6});
  check_layer_gradients(tanh_layer, random_tensor({3, 6}, 3, -2.0f, 2.0f));
}

TEST(Activation, LeakyReluEluSoftmax) {
  Tensor x({1, 2});
  x[0] = -2.0f;
  x[1] = 1.5f;
  Tensor y;
  LeakyReLU leaky("leaky", 0.1f);
  leaky.forward(x, y, Mode::kEval);
  EXPECT_FLOAT_EQ(y[0], -0.2f);
  EXPECT_FLOAT_EQ(y[1], 1.5f);
  ELU elu("elu", 1.0f);
  elu.forward(x, y, Mode::kEval);
  EXPECT_NEAR(y[0], std::exp(-2.0) - 1.0, 1e-6);
  EXPECT_FLOAT_EQ(y[1], 1.5f);
  Softmax softmax("softmax");
  softmax.setup({2});
  softmax.forward(x, y, Mode::kEval);
  EXPECT_NEAR(y[1], std::exp(1.5) / (std::exp(1.5) + std::exp(-2.0)), 1e-6);
  EXPECT_THROW(softmax.setup({2, 2}), ShapeError);

  leaky.setup({6});
  check_layer_gradients(leaky, distinct_tensor({3, 6}, 5, 0.05f));
  elu.setup({6});
  check_layer_gradients(elu, distinct_tensor({3, 6}, 6, 0.05f));
  check_layer_gradients(softmax, random_tensor({3, 5}, 7, -2.0f, 2.0f));
}

TEST(Activation, GeluValuesAndGradients) {
  GELU gelu("gelu");
  gelu.setup({6});
  Tensor x({1, 3}), y;
  x[0] = 1.0f, x[1] = -1.0f, x[2] = 0.0f;
  gelu.setup({3});
  gelu.forward(x, y, Mode::kEval);
  EXPECT_NEAR(y[0], 0.8413447f, 1e-6);  // x Phi(x)
  EXPECT_NEAR(y[1], -0.1586553f, 1e-6);
  EXPECT_EQ(y[2], 0.0f);
  gelu.setup({6});
  check_layer_gradients(gelu, random_tensor({3, 6}, 4, -3.0f, 3.0f));
}

// The fast erf behind GELU against std::erf over [-12, 12], on enough elements to use the threads.
TEST(Activation, GeluMatchesErfDefinitionEverywhere) {
  const int64_t n = 240001;
  GELU gelu("gelu");
  gelu.setup({n});
  Tensor x({1, n}), y, dy({1, n}), dx;
  for (int64_t i = 0; i < n; ++i) x[i] = -12.0f + 24.0f * static_cast<float>(i) / static_cast<float>(n - 1);
  dy.fill(1.0f);
  gelu.forward(x, y, Mode::kTrain);
  gelu.backward(x, y, dy, &dx);
  double worst_value = 0.0, worst_slope = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const double v = x[i], cdf = 0.5 * (1.0 + std::erf(v / std::sqrt(2.0)));
    const double slope = cdf + v * std::exp(-0.5 * v * v) / std::sqrt(2.0 * M_PI);
    worst_value = std::max(worst_value, std::abs(y[i] - v * cdf) / std::max(1.0, std::abs(v)));
    worst_slope = std::max(worst_slope, std::abs(dx[i] - slope));
  }
  EXPECT_LT(worst_value, 5e-7);
  EXPECT_LT(worst_slope, 1e-6);
}

TEST(Activation, ScaleMultipliesValuesAndGradients) {
  Scale scale("scale", 1.0f / 9.0f);
  scale.setup({4});
  const Tensor x = random_tensor({2, 4}, 8);
  Tensor y;
  scale.forward(x, y, Mode::kEval);
  for (int64_t i = 0; i < 8; ++i) EXPECT_FLOAT_EQ(y[i], x[i] / 9.0f);
  check_layer_gradients(scale, x);
  EXPECT_THROW(Scale("s", 0.0f), std::invalid_argument);
}

TEST(Flatten, KeepsDataAndGradients) {
  Flatten flatten("flatten");
  EXPECT_EQ(flatten.setup({2, 3, 4}), Shape({24}));
  const Tensor x = random_tensor({2, 2, 3, 4}, 4);
  Tensor y;
  flatten.forward(x, y, Mode::kEval);
  EXPECT_EQ(y.shape(), Shape({2, 24}));
  for (int64_t i = 0; i < x.numel(); ++i) EXPECT_EQ(y[i], x[i]);
  check_layer_gradients(flatten, x);
}

}  // namespace
}  // namespace shardnet
