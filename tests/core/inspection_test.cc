#include "core/inspection.h"

#include <gtest/gtest.h>

#include "core/dense.h"
#include "core/model_file.h"
#include "tests/gradient_checker.h"

namespace shardnet {
namespace {

constexpr const char* kCnn =
    "[input] shape = 2,6,6\n[conv] filters = 3 size = 3 pad = 1\n[batchnorm]\n[relu]\n[maxpool] size = 2\n"
    "[dense] outputs = 4\n[softmax_cross_entropy]\n";

// The saliency map is |d score / d input| (largest over channels): checked by central differences.
TEST(Inspection, SaliencyIsTheInputGradientOfTheClassScore) {
  auto net = parse_model(kCnn, "cnn");
  net->initialize(4);
  const Tensor x = testing::random_tensor({1, 2, 6, 6}, 5);
  const ClassExplanation e = explain_class(*net, x, 2);
  EXPECT_EQ(e.class_id, 2);
  ASSERT_EQ(e.saliency.shape(), (Shape{6, 6}));
  auto score = [&](const Tensor& in) { return static_cast<double>(net->forward(in, Mode::kEval)[2]); };
  for (int64_t p : {0, 7, 14, 21, 35}) {
    double best = 0.0;
    for (int64_t c = 0; c < 2; ++c) {
      Tensor up = x, down = x;
      const float h = 1e-3f;  // small: a max-pool window must not change its winner
      up[c * 36 + p] += h;
      down[c * 36 + p] -= h;
      best = std::max(best, std::abs(score(up) - score(down)) / (2.0 * h));
    }
    EXPECT_NEAR(e.saliency[p], best, 2e-3 * std::max(best, 1.0)) << "pixel " << p;
  }
  EXPECT_EQ(explain_class(*net, x).class_id, [&] {
    const Tensor& out = net->forward(x, Mode::kEval);
    return std::max_element(out.data(), out.data() + 4) - out.data();
  }()) << "by default the top class";
  EXPECT_THROW(explain_class(*net, x, 4), std::invalid_argument);
}

// With global average pooling before a dense head, Grad-CAM is the class activation map of Zhou et
// al.: ReLU of the maps weighted by the class's dense weights, here normalised to a maximum of 1.
TEST(Inspection, GradCamOfAnAveragePooledHeadIsTheClassActivationMap) {
  auto net = parse_model(
      "[input] shape = 1,4,4\n[conv] filters = 3 size = 3 pad = 1\n[avgpool] size = 4\n[dense] outputs = 2\n"
      "[softmax_cross_entropy]\n",
      "gap");
  net->initialize(6);
  const Tensor x = testing::random_tensor({1, 1, 4, 4}, 7);
  const ClassExplanation e = explain_class(*net, x, 1);
  EXPECT_EQ(e.cam_layer, 0) << "the conv: the pooled output is a single pixel";
  auto& dense = dynamic_cast<Dense&>(net->layer(2));
  const Tensor& maps = net->output(0);
  Tensor cam({4, 4});
  float top = 0.0f;
  for (int64_t p = 0; p < 16; ++p) {
    float v = 0.0f;
    for (int64_t c = 0; c < 3; ++c) v += dense.weight().value[1 * 3 + c] * maps[c * 16 + p];
    cam[p] = std::max(v, 0.0f);
    top = std::max(top, cam[p]);
  }
  ASSERT_GT(top, 0.0f);
  for (int64_t p = 0; p < 16; ++p) EXPECT_NEAR(e.grad_cam[p], cam[p] / top, 1e-5) << p;
}

TEST(Inspection, ResizeMapIsBilinear) {
  Tensor map({1, 2});
  map[0] = 0.0f;
  map[1] = 1.0f;
  const Tensor big = resize_map(map, 1, 4);  // PyTorch: [0, 0.25, 0.75, 1]
  EXPECT_FLOAT_EQ(big[1], 0.25f);
  EXPECT_FLOAT_EQ(big[2], 0.75f);
  EXPECT_FLOAT_EQ(big[3], 1.0f);
}

}  // namespace
}  // namespace shardnet
