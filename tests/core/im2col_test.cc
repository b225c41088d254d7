#include "core/im2col.h"

#include <gtest/gtest.h>

#include "core/parallel.h"
#include "tests/gradient_checker.h"

namespace shardnet {
namespace {

// col2im is the adjoint of im2col: <im2col(x), c> == <x, col2im(c)> for every x and c.
TEST(Im2col, Col2imIsTheAdjoint) {
  for (const ConvGeometry& g : {ConvGeometry{2, 5, 6, 3, 3, 1, 1, 1, 1}, ConvGeometry{3, 7, 7, 3, 2, 2, 1, 0, 1},
                                ConvGeometry{1, 4, 9, 2, 4, 1, 3, 1, 2}}) {
    const Tensor x = testing::random_tensor({g.channels, g.height, g.width}, 1);
    const Tensor c = testing::random_tensor({g.col_rows(), g.col_cols()}, 2);
    Tensor col({g.col_rows(), g.col_cols()});
    im2col(g, x.data(), col.data(), g.col_cols());
    Tensor back({g.channels, g.height, g.width});
    back.zero();
    col2im(g, c.data(), g.col_cols(), back.data());
    double lhs = 0.0, rhs = 0.0;
    for (int64_t i = 0; i < col.numel(); ++i) lhs += static_cast<double>(col[i]) * c[i];
    for (int64_t i = 0; i < x.numel(); ++i) rhs += static_cast<double>(x[i]) * back[i];
    EXPECT_NEAR(lhs, rhs, 1e-4);
  }
}

TEST(Im2col, PaddingIsZero) {
  const ConvGeometry g{1, 2, 2, 3, 3, 1, 1, 1, 1};
  Tensor x({1, 2, 2});
  x.fill(1.0f);
  Tensor col({g.col_rows(), g.col_cols()});
  im2col(g, x.data(), col.data(), g.col_cols());
  // Kernel position (0, 0) sees the top-left padding for every output but (1, 1).
  EXPECT_EQ(col[0], 0.0f);
  EXPECT_EQ(col[3], 1.0f);
}

// The batched forms put image i's columns at [i*P, (i+1)*P) of each row, the same values as the
// one-image form, on any number of compute threads.
TEST(Im2col, BatchedEqualsOneImageAtATime) {
  const ConvGeometry g{3, 7, 6, 3, 3, 2, 1, 1, 1};
  const int64_t count = 5, pixels = g.col_cols(), image = g.channels * g.height * g.width;
  const Tensor x = testing::random_tensor({count, g.channels, g.height, g.width}, 3);
  const Tensor c = testing::random_tensor({g.col_rows(), count * pixels}, 4);
  Tensor expected_col({g.col_rows(), count * pixels}), expected_back({count, g.channels, g.height, g.width});
  expected_back.zero();
  for (int64_t i = 0; i < count; ++i) {
    im2col(g, x.data() + i * image, expected_col.data() + i * pixels, count * pixels);
    col2im(g, c.data() + i * pixels, count * pixels, expected_back.data() + i * image);
  }
  for (int threads : {1, 2, 3}) {
    set_compute_threads(threads);
    Tensor col({g.col_rows(), count * pixels}), back({count, g.channels, g.height, g.width});
    back.zero();
    im2col_batch(g, x.data(), count, col.data());
    col2im_batch(g, c.data(), count, back.data());
    for (int64_t i = 0; i < col.numel(); ++i) ASSERT_EQ(col[i], expected_col[i]) << threads << " threads, " << i;
    for (int64_t i = 0; i < back.numel(); ++i) ASSERT_EQ(back[i], expected_back[i]) << threads << " threads, " << i;
  }
  set_compute_threads(1);
}

}  // namespace
}  // namespace shardnet
