#include "core/winograd.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "core/half_float.h"

namespace shardnet {
namespace {

struct Planes {
  int64_t count, channels, h, w;
};

std::vector<float> random_values(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = normal(rng);
  return v;
}

// x (h, w) at (y, x), zero outside: the padded input of a 3x3 same convolution.
float at(const float* plane, int64_t h, int64_t w, int64_t y, int64_t x) {
  return y < 0 || y >= h || x < 0 || x >= w ? 0.0f : plane[y * w + x];
}

class WinogradTransforms : public ::testing::TestWithParam<Planes> {};

// The input transform against its definition, B^T d B of each 4x4 tile d, in double.
TEST_P(WinogradTransforms, InputTransformIsBTransposedTimesTileTimesB) {
  const Planes p = GetParam();
  const int64_t tiles_w = (p.w + 1) / 2, tiles = winograd_tiles(p.h, p.w), ld = p.count * tiles;
  const auto images = random_values(p.count * p.channels * p.h * p.w, 1);
  std::vector<float> v(static_cast<size_t>(winograd_operand_size(p.channels, ld)));
  winograd_input_transform(images.data(), p.count, p.channels, p.h, p.w, v.data(), ld);
  const double bt[4][4] = {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}};
  const int64_t stride = winograd_point_stride(p.channels, ld);
  for (int64_t i = 0; i < p.count; ++i) {
    for (int64_t c = 0; c < p.channels; ++c) {
      const float* plane = images.data() + (i * p.channels + c) * p.h * p.w;
      for (int64_t t = 0; t < tiles; ++t) {
        const int64_t y0 = 2 * (t / tiles_w) - 1, x0 = 2 * (t % tiles_w) - 1;
        for (int r = 0; r < 4; ++r) {
          for (int q = 0; q < 4; ++q) {
            double expected = 0;
            for (int a = 0; a < 4; ++a) {
              for (int b = 0; b < 4; ++b) expected += bt[r][a] * at(plane, p.h, p.w, y0 + a, x0 + b) * bt[q][b];
            }
            const float got = v[static_cast<size_t>((r * 4 + q) * stride + c * ld + i * tiles + t)];
            ASSERT_NEAR(got, expected, 1e-5)
                << "image " << i << " channel " << c << " tile " << t << " point " << r * 4 + q;
          }
        }
      }
    }
  }
}

// bf16 mode's transforms write what rounding the float32 ones would give, bit for bit, so that the
// rounding pass they replace changes nothing.
TEST_P(WinogradTransforms, Bf16TransformsRoundTheFloatOnes) {
  const Planes p = GetParam();
  const int64_t ld = p.count * winograd_tiles(p.h, p.w), size = winograd_operand_size(p.channels, ld);
  auto values = random_values(p.count * p.channels * p.h * p.w, 2);
  values[0] = std::nanf("");  // a NaN stays a NaN, as to_bf16 keeps it
  std::vector<float> as_float(static_cast<size_t>(size));
  std::vector<uint16_t> as_bf16(static_cast<size_t>(size)), rounded(static_cast<size_t>(size));
  for (bool gradient : {false, true}) {
    if (gradient) {
      winograd_gradient_transform(values.data(), p.count, p.channels, p.h, p.w, as_float.data(), ld);
      winograd_gradient_transform(values.data(), p.count, p.channels, p.h, p.w, as_bf16.data(), ld);
    } else {
      winograd_input_transform(values.data(), p.count, p.channels, p.h, p.w, as_float.data(), ld);
      winograd_input_transform(values.data(), p.count, p.channels, p.h, p.w, as_bf16.data(), ld);
    }
    const int64_t stride = winograd_point_stride(p.channels, ld);
    for (int64_t point = 0; point < kWinogradPoints; ++point) {
      for (int64_t k = 0; k < p.channels * ld; ++k) {
        const auto index = static_cast<size_t>(point * stride + k);
        ASSERT_EQ(as_bf16[index], to_bf16(as_float[index]))
            << (gradient ? "gradient" : "input") << " point " << point << " element " << k;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, WinogradTransforms,
                         ::testing::Values(Planes{2, 3, 5, 5}, Planes{3, 2, 6, 7}, Planes{1, 2, 1, 1},
                                           Planes{2, 4, 8, 8}, Planes{4, 3, 16, 16}, Planes{1, 2, 32, 31},
                                           Planes{2, 2, 7, 35}, Planes{1, 3, 4, 64}));

TEST(Winograd, PointsOfAnOperandDoNotShareCacheSets) {
  // The transforms touch all 16 points of a tile at once: were the points 4 KiB apart (256 channels of
  // 256 tiles are 256 KiB of float32), all 16 streams would compete for one set of an L1 cache with
  // fewer ways (12 on Zen 4, 8 to 12 on Intel's). The points start on different 64-byte lines mod 4 KiB.
  for (const int64_t rows : {16, 64, 256, 512}) {
    for (const int64_t ld : {64, 256, 1024}) {
      for (const int64_t element : {4, 2}) {  // float32, bfloat16
        std::vector<int64_t> lines;
        for (int64_t p = 0; p < kWinogradPoints; ++p) {
          lines.push_back((p * winograd_point_stride(rows, ld) * element) % 4096 / 64);
        }
        std::sort(lines.begin(), lines.end());
        EXPECT_EQ(std::unique(lines.begin(), lines.end()), lines.end()) << rows << " x " << ld << ", " << element;
        // and every point stays 64-byte aligned (oneDNN's bf16 matmul is slower on unaligned rows)
        EXPECT_EQ(winograd_point_stride(rows, ld) * element % 64, 0) << rows << " x " << ld << ", " << element;
      }
    }
  }
}

}  // namespace
}  // namespace shardnet
