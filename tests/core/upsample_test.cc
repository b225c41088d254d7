#include "core/upsample.h"

#include <gtest/gtest.h>

#include "tests/gradient_checker.h"

namespace shardnet {
namespace {

Tensor row(std::initializer_list<float> values) {
  Tensor t({1, 1, 1, static_cast<int64_t>(values.size())});
  int64_t i = 0;
  for (float v : values) t[i++] = v;
  return t;
}

// torch.nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False) of [[1, 2, 4]] gives
// rows of [1, 1.25, 1.75, 2.5, 3.5, 4] (a 1-row input stays constant down the columns).
TEST(Upsample, BilinearMatchesPyTorchsAlignCornersFalse) {
  Upsample up("up", 2, UpsampleMode::kBilinear);
  EXPECT_EQ(up.setup({1, 1, 3}), (Shape{1, 2, 6}));
  Tensor y;
  up.forward(row({1, 2, 4}), y, Mode::kEval);
  const float expected[] = {1, 1.25f, 1.75f, 2.5f, 3.5f, 4};
  for (int64_t r = 0; r < 2; ++r)
    for (int64_t i = 0; i < 6; ++i) EXPECT_FLOAT_EQ(y[r * 6 + i], expected[i]) << r << "," << i;
}

TEST(Upsample, NearestRepeatsEachValue) {
  Upsample up("up", 3, UpsampleMode::kNearest);
  EXPECT_EQ(up.setup({1, 1, 2}), (Shape{1, 3, 6}));
  Tensor y, dx;
  const Tensor x = row({5, 7});
  up.forward(x, y, Mode::kEval);
  for (int64_t i = 0; i < 18; ++i) EXPECT_EQ(y[i], i % 6 < 3 ? 5.0f : 7.0f);
  up.backward(x, y, y, &dx);
  EXPECT_EQ(dx[0], 45.0f);  // nine copies of 5
  testing::check_layer_gradients(up, testing::random_tensor({2, 2, 3, 2}, 1));
}

}  // namespace
}  // namespace shardnet
