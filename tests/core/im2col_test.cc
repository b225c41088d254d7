#include "core/im2col.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace shardnet
