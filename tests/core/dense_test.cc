#include "core/dense.h"

#include <gtest/gtest.h>

#include "tests/gradient_checker.h"

namespace shardnet {
namespace {

using testing::random_tensor;

TEST(Dense, ComputesAffineMap) {
  Dense dense("fc", 2);
  EXPECT_EQ(dense.setup({3}), Shape({2}));
  // W = [[1, 2, 3], [-1, 0, 1]], b = [0.5, -0.5]
  const float w[] = {1, 2, 3, -1, 0, 1};
  std::copy(w, w + 6, dense.weight().value.data());
  dense.bias().value[0] = 0.5f;
  dense.bias().value[1] = -0.5f;
  Tensor x({2, 3});
  const float xs[] = {1, 1, 1, 2, 0, -1};
  std::copy(xs, xs + 6, x.data());
  Tensor y;
  dense.forward(x, y, Mode::kEval);
  ASSERT_EQ(y.shape(), Shape({2, 2}));
  EXPECT_FLOAT_EQ(y[0], 6.5f);
  EXPECT_FLOAT_EQ(y[1], -0.5f);
  EXPECT_FLOAT_EQ(y[2], -0.5f);
  EXPECT_FLOAT_EQ(y[3], -3.5f);
}

TEST(Dense, GradientsMatchFiniteDifferences) {
  Dense dense("fc", 5);
  dense.setup({7});
  dense.initialize(3);
  dense.bias().value = random_tensor({5}, 4);
  testing::check_layer_gradients(dense, random_tensor({4, 7}, 5));
}

TEST(Dense, FlattensImageInputs) {
  Dense dense("fc", 3);
  EXPECT_EQ(dense.setup({2, 3, 4}), Shape({3}));
  dense.initialize(1);
  testing::check_layer_gradients(dense, random_tensor({2, 2, 3, 4}, 6));
}

TEST(Dense, HeInitialisationHasTheRightScale) {
  Dense dense("fc", 256);
  dense.setup({512});
  dense.initialize(9);
  double sum2 = 0.0;
  for (float v : dense.weight().value.span()) sum2 += v * v;
  const double std = std::sqrt(sum2 / static_cast<double>(dense.weight().value.numel()));
  EXPECT_NEAR(std, std::sqrt(2.0 / 512.0), 0.002);
}

TEST(Dense, PytorchInitialisationIsUniformOverFanIn) {
  Dense dense("fc", 256, true, InitSpec{InitKind::kPytorch});
  dense.setup({400});
  dense.initialize(9);
  double sum2 = 0.0;
  for (float v : dense.weight().value.span()) {
    ASSERT_LE(std::abs(v), 0.05f);  // 1 / sqrt(400)
    sum2 += v * v;
  }
  const double std = std::sqrt(sum2 / static_cast<double>(dense.weight().value.numel()));
  EXPECT_NEAR(std, 0.05 / std::sqrt(3.0), 0.001);
}

}  // namespace
}  // namespace shardnet
