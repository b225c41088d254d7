#include "core/augment.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "tests/gradient_checker.h"

namespace shardnet {
namespace {

using testing::check_layer_gradients;
using testing::random_tensor;

TEST(Augment, ShiftsAndFlipsPerSampleAndIsItsOwnAdjoint) {
  Augment augment("aug", 2, FlipMode::kRandom);
  augment.setup({1, 5, 6});
  std::vector<int64_t> rows = {0, 1, 2, 3, 4, 5, 6, 7};
  StepContext ctx{9, 1, rows, nullptr, {}};
  augment.bind(&ctx);
  Tensor x = random_tensor({8, 1, 5, 6}, 3, 0.5f, 1.0f);  // no zeros: a zero in y is padding
  Tensor y;
  augment.forward(x, y, Mode::kTrain);
  int changed = 0;
  for (int64_t i = 0; i < 8; ++i) {
    bool same = true;
    for (int64_t j = 0; j < 30; ++j) same = same && y[i * 30 + j] == x[i * 30 + j];
    changed += same ? 0 : 1;
  }
  EXPECT_GE(changed, 6);  // 1 in 50 draws leaves a sample as it was
  check_layer_gradients(augment, x);
  augment.forward(x, y, Mode::kEval);
  for (int64_t j = 0; j < x.numel(); ++j) ASSERT_EQ(y[j], x[j]);
}

// fill = reflect: every sample is the image shifted with its mirror image at the border (no zeros),
// as numpy's and torch's 'reflect' padding (the edge pixel is not repeated), and the adjoint holds.
TEST(Augment, ReflectFillMirrorsTheBorder) {
  Augment augment("aug", 2, FlipMode::kNone, 0, ShiftFill::kReflect);
  augment.setup({1, 5, 6});
  std::vector<int64_t> rows(16);
  for (int64_t i = 0; i < 16; ++i) rows[i] = i;
  StepContext ctx{2, 0, rows, nullptr, {}};
  augment.bind(&ctx);
  Tensor x({16, 1, 5, 6}), y;
  for (int64_t i = 0; i < 16; ++i)
    for (int64_t h = 0; h < 5; ++h)
      for (int64_t w = 0; w < 6; ++w) x[i * 30 + h * 6 + w] = static_cast<float>(10 * h + w + 1);
  augment.forward(x, y, Mode::kTrain);
  auto reflect = [](int64_t i, int64_t n) { return i < 0 ? -i : i >= n ? 2 * n - 2 - i : i; };
  int shifted = 0;
  for (int64_t i = 0; i < 16; ++i) {
    bool found = false;
    for (int64_t dy = -2; dy <= 2 && !found; ++dy) {
      for (int64_t dx = -2; dx <= 2 && !found; ++dx) {
        bool all = true;
        for (int64_t h = 0; h < 5; ++h)
          for (int64_t w = 0; w < 6; ++w)
            all = all && y[i * 30 + h * 6 + w] == x[reflect(h + dy, 5) * 6 + reflect(w + dx, 6)];
        found = all;
        shifted += all && (dy != 0 || dx != 0) ? 1 : 0;
      }
    }
    EXPECT_TRUE(found) << "sample " << i << " is no reflected shift of its image";
  }
  EXPECT_GE(shifted, 12);
  check_layer_gradients(augment, random_tensor({16, 1, 5, 6}, 3, 0.5f, 1.0f));
  Augment too_far("aug", 5, FlipMode::kNone, 0, ShiftFill::kReflect);
  EXPECT_THROW(too_far.setup({1, 5, 6}), ShapeError);
}

// Cutout zeroes an s x s square per sample (clipped at the border) and passes no gradient there.
TEST(Augment, CutoutZeroesASquarePerSample) {
  Augment augment("aug", 0, FlipMode::kNone, 3);
  augment.setup({2, 6, 6});
  std::vector<int64_t> rows = {0, 1, 2, 3, 4, 5};
  StepContext ctx{4, 0, rows, nullptr, {}};
  augment.bind(&ctx);
  Tensor x = random_tensor({6, 2, 6, 6}, 5, 0.5f, 1.0f), y;
  augment.forward(x, y, Mode::kTrain);
  for (int64_t i = 0; i < 6; ++i) {
    int zeros[2] = {0, 0};
    for (int64_t c = 0; c < 2; ++c)
      for (int64_t j = 0; j < 36; ++j) zeros[c] += y[(i * 2 + c) * 36 + j] == 0.0f ? 1 : 0;
    EXPECT_EQ(zeros[0], zeros[1]) << "the same square in every channel";
    EXPECT_GE(zeros[0], 1);
    EXPECT_LE(zeros[0], 9);
  }
  check_layer_gradients(augment, x);
}

// flip = alternate: each sample is mirrored in every other epoch, and about half of them in each.
TEST(Augment, AlternatingFlipInvertsEachEpoch) {
  Augment augment("aug", 0, FlipMode::kAlternate);
  augment.setup({1, 1, 4});
  std::vector<int64_t> rows(64);
  for (int64_t i = 0; i < 64; ++i) rows[i] = i;
  Tensor x({64, 1, 1, 4}), y;
  for (int64_t i = 0; i < 64; ++i)
    for (int64_t j = 0; j < 4; ++j) x[i * 4 + j] = static_cast<float>(j + 1);
  std::vector<std::vector<bool>> flipped;
  for (int64_t epoch = 0; epoch < 4; ++epoch) {
    StepContext ctx{3, epoch, rows, nullptr, {}};
    augment.bind(&ctx);
    augment.forward(x, y, Mode::kTrain);
    std::vector<bool> f(64);
    for (int64_t i = 0; i < 64; ++i) f[i] = y[i * 4] == 4.0f;
    flipped.push_back(f);
  }
  const int64_t count = std::count(flipped[0].begin(), flipped[0].end(), true);
  EXPECT_GT(count, 16);
  EXPECT_LT(count, 48);
  for (int64_t i = 0; i < 64; ++i) {
    EXPECT_NE(flipped[0][i], flipped[1][i]);
    EXPECT_EQ(flipped[0][i], flipped[2][i]);
    EXPECT_NE(flipped[2][i], flipped[3][i]);
  }
}

}  // namespace
}  // namespace shardnet
