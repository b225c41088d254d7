#include "core/im2col.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/half_float.h"
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

// Columns by their definition, col[(c, ki, kj)][(i, oh, ow)] = x_i[c][oh * s + ki - p][ow * s + kj - p]
// (zero outside), for output widths on both sides of im2col's 16-element copy blocks, strides 1
// and 2, written into the middle of a buffer whose other elements must stay untouched: a block that
// ran past its part of a row would show there or in a neighbour image's columns. The bf16 form
// writes the same values rounded.
TEST(Im2col, MatchesTheDefinitionAndWritesNothingElse) {
  for (const int64_t width : {1, 2, 7, 14, 15, 16, 17, 31, 33}) {
    for (const int64_t stride : {1, 2}) {
      const ConvGeometry g{2, 5, width, 3, 3, stride, stride, 1, 1};
      const int64_t count = 3, pixels = g.col_cols(), rows = g.col_rows(), ld = count * pixels;
      const Tensor x = testing::random_tensor({count, g.channels, g.height, g.width}, 5);
      constexpr int64_t kMargin = 64;
      constexpr float kUntouched = -12345.0f;
      std::vector<float> buffer(static_cast<size_t>(rows * ld + 2 * kMargin), kUntouched);
      std::vector<uint16_t> bf16(static_cast<size_t>(rows * ld + 2 * kMargin), 0xdead);
      im2col_batch(g, x.data(), count, buffer.data() + kMargin);
      im2col_batch(g, x.data(), count, bf16.data() + kMargin);
      for (int64_t m = 0; m < kMargin; ++m) {
        ASSERT_EQ(buffer[m], kUntouched) << "width " << width << ": written before the columns";
        ASSERT_EQ(buffer[buffer.size() - 1 - m], kUntouched) << "width " << width << ": written past the columns";
        ASSERT_EQ(bf16[m], 0xdead);
        ASSERT_EQ(bf16[bf16.size() - 1 - m], 0xdead);
      }
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t c = r / 9, ki = r % 9 / 3, kj = r % 3;
        for (int64_t i = 0; i < count; ++i) {
          for (int64_t pixel = 0; pixel < pixels; ++pixel) {
            const int64_t y = pixel / g.out_w() * stride + ki - 1, xx = pixel % g.out_w() * stride + kj - 1;
            const bool inside = y >= 0 && y < g.height && xx >= 0 && xx < g.width;
            const float expected = inside ? x.data()[((i * g.channels + c) * g.height + y) * g.width + xx] : 0.0f;
            const auto at = static_cast<size_t>(kMargin + r * ld + i * pixels + pixel);
            ASSERT_EQ(buffer[at], expected)
                << "width " << width << " stride " << stride << " row " << r << " image " << i << " pixel " << pixel;
            ASSERT_EQ(bf16[at], to_bf16(expected)) << "width " << width << " row " << r << " pixel " << pixel;
          }
        }
      }
    }
  }
}

// col2im_batch is the adjoint of im2col_batch (checked against the definition above) at the widths
// around its 16-element add blocks, strides 1 and 2, 3x3 and 5x5 kernels with same padding, and
// adds nothing outside the images: a block that added a neighbouring row's values into the padded
// copy's border or interior would break the identity.
TEST(Im2col, Col2imBatchIsTheAdjointAtEveryWidth) {
  for (const int64_t width : {1, 2, 7, 14, 15, 16, 17, 31, 33}) {
    for (const int64_t stride : {1, 2}) {
      for (const int64_t kernel : {3, 5}) {
        const int64_t pad = kernel / 2;
        const ConvGeometry g{2, 4, width, kernel, kernel, stride, stride, pad, pad};
        const int64_t count = 3, image = g.channels * g.height * g.width, ld = count * g.col_cols();
        const Tensor x = testing::random_tensor({count, g.channels, g.height, g.width}, 6);
        const Tensor c = testing::random_tensor({g.col_rows(), ld}, 7);
        Tensor col({g.col_rows(), ld});
        im2col_batch(g, x.data(), count, col.data());
        constexpr int64_t kMargin = 64;
        constexpr float kUntouched = -12345.0f;
        std::vector<float> back(static_cast<size_t>(count * image + 2 * kMargin), 0.0f);
        std::fill_n(back.begin(), kMargin, kUntouched);
        std::fill_n(back.end() - kMargin, kMargin, kUntouched);
        col2im_batch(g, c.data(), count, back.data() + kMargin);
        for (int64_t m = 0; m < kMargin; ++m) {
          ASSERT_EQ(back[m], kUntouched) << "width " << width << ": added before the images";
          ASSERT_EQ(back[back.size() - 1 - m], kUntouched) << "width " << width << ": added past the images";
        }
        double lhs = 0.0, rhs = 0.0, scale = 0.0;
        for (int64_t i = 0; i < col.numel(); ++i) {
          lhs += static_cast<double>(col[i]) * c[i];
          scale += std::abs(static_cast<double>(col[i]) * c[i]);
        }
        for (int64_t i = 0; i < count * image; ++i) rhs += static_cast<double>(x[i]) * back[kMargin + i];
        EXPECT_NEAR(lhs, rhs, 1e-6 * scale) << "width " << width << " stride " << stride << " kernel " << kernel;
      }
    }
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
