#include "core/dropout.h"

#include <gtest/gtest.h>

#include "tests/gradient_checker.h"

namespace shardnet {
namespace {

using testing::check_layer_gradients;
using testing::random_tensor;

TEST(Dropout, DropsAtTheRateAndScalesTheRest) {
  Dropout dropout("drop", 0.3f);
  dropout.setup({1000});
  std::vector<int64_t> rows = {5, 9};
  StepContext ctx{7, 0, rows, nullptr, {}};
  dropout.bind(&ctx);
  Tensor x({2, 1000});
  x.fill(1.0f);
  Tensor y;
  dropout.forward(x, y, Mode::kTrain);
  int zeros = 0;
  for (int64_t i = 0; i < y.numel(); ++i) {
    if (y[i] == 0.0f)
      ++zeros;
    else
      EXPECT_FLOAT_EQ(y[i], 1.0f / 0.7f);
  }
  EXPECT_NEAR(zeros / 2000.0, 0.3, 0.04);
  dropout.forward(x, y, Mode::kEval);
  EXPECT_EQ(y[0], 1.0f);
}

TEST(Dropout, MaskBelongsToTheSampleNotItsPosition) {
  Dropout dropout("drop", 0.5f);
  dropout.setup({64});
  Tensor x = random_tensor({2, 64}, 1);
  std::vector<int64_t> rows = {11, 42};
  StepContext ctx{3, 2, rows, nullptr, {}};
  dropout.bind(&ctx);
  Tensor y;
  dropout.forward(x, y, Mode::kTrain);
  // Sample 42 alone, in first position of a batch of one.
  std::vector<int64_t> alone = {42};
  StepContext ctx2{3, 2, alone, nullptr, {}};
  dropout.bind(&ctx2);
  Tensor x2({1, 64});
  std::copy_n(x.data() + 64, 64, x2.data());
  Tensor y2;
  dropout.forward(x2, y2, Mode::kTrain);
  for (int64_t j = 0; j < 64; ++j) EXPECT_EQ(y2[j], y[64 + j]);
  // Another epoch draws another mask.
  StepContext ctx3{3, 3, alone, nullptr, {}};
  dropout.bind(&ctx3);
  Tensor y3;
  dropout.forward(x2, y3, Mode::kTrain);
  int same = 0;
  for (int64_t j = 0; j < 64; ++j) same += (y3[j] == y2[j]);
  EXPECT_LT(same, 64);
}

TEST(Dropout, GradientsWithAFixedMask) {
  Dropout dropout("drop", 0.4f);
  dropout.setup({3, 4});
  std::vector<int64_t> rows = {0, 1, 2};
  StepContext ctx{1, 0, rows, nullptr, {}};
  dropout.bind(&ctx);
  check_layer_gradients(dropout, random_tensor({3, 3, 4}, 2));  // the mask depends only on ctx
}

}  // namespace
}  // namespace shardnet
