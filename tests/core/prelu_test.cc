#include "core/prelu.h"

#include <gtest/gtest.h>

#include "core/model_file.h"
#include "tests/gradient_checker.h"

namespace shardnet {
namespace {

TEST(PReLU, ScalesNegativeInputsByTheirChannelsSlope) {
  PReLU layer("p", true, 0.25f);
  ASSERT_EQ(layer.setup({2, 2}), Shape({2, 2}));
  layer.params()[0]->value[1] = 0.5f;  // channel 1
  Tensor x({1, 2, 2}), y;
  const float in[] = {-2.0f, 3.0f, -4.0f, 0.0f};
  std::copy(in, in + 4, x.data());
  layer.forward(x, y, Mode::kTrain);
  EXPECT_FLOAT_EQ(y[0], -0.5f);  // channel 0: 0.25 * -2
  EXPECT_FLOAT_EQ(y[1], 3.0f);
  EXPECT_FLOAT_EQ(y[2], -2.0f);  // channel 1: 0.5 * -4
  EXPECT_FLOAT_EQ(y[3], 0.0f);
}

TEST(PReLU, GradientsMatchFiniteDifferences) {
  for (bool per_channel : {true, false}) {
    PReLU layer("p", per_channel, 0.25f);
    layer.setup({3, 4, 4});
    testing::check_layer_gradients(layer, testing::distinct_tensor({2, 3, 4, 4}, 5, 0.03f));
    EXPECT_EQ(layer.params()[0]->value.numel(), per_channel ? 3 : 1);
  }
}

TEST(PReLU, ComesFromModelFilesWithPytorchsDefaultsAndNoWeightDecay) {
  auto net = parse_model("[input] shape = 8\n[prelu]\n[dense] outputs = 2\n[mse]\n", "m.cfg");
  Param& slope = *net->layer(0).params()[0];
  EXPECT_EQ(slope.name, "prelu1/weight");
  EXPECT_EQ(slope.value.numel(), 8);
  EXPECT_FLOAT_EQ(slope.value[0], 0.25f);
  EXPECT_EQ(slope.decay_mult, 0.0f);
  EXPECT_THROW(parse_model("[input] shape = 8\n[prelu] init = 2\n[mse]\n", "m.cfg"), ModelError);
}

}  // namespace
}  // namespace shardnet
