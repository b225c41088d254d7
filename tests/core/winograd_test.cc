#include "core/winograd.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "core/half_float.h"
#include "tests/best_seconds.h"

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

// The filter transform against its definition, G g G^T in double, for the forward (filter f,
// channel c at row f) and for dx (the filter rotated by 180 degrees, at row c), and its bfloat16
// overload against the rounded float32 result. 5 x 7 pairs: a block boundary inside a row.
TEST(WinogradFilterTransform, IsGTimesFilterTimesGTransposed) {
  const int64_t filters = 5, channels = 7, size = winograd_operand_size(filters, channels);
  const std::vector<float> w = random_values(filters * channels * 9, 11);
  const double g_matrix[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
  for (const bool for_dx : {false, true}) {
    std::vector<float> u(static_cast<size_t>(size), -7.0f);
    std::vector<uint16_t> u_bf16(static_cast<size_t>(size));
    winograd_filter_transform(w.data(), filters, channels, for_dx, u.data());
    winograd_filter_transform(w.data(), filters, channels, for_dx, u_bf16.data());
    for (int64_t f = 0; f < filters; ++f) {
      for (int64_t c = 0; c < channels; ++c) {
        const float* g = w.data() + (f * channels + c) * 9;
        const int64_t row = for_dx ? c * filters + f : f * channels + c;
        for (int p = 0; p < kWinogradPoints; ++p) {
          const int a = p / 4, b = p % 4;
          double expected = 0;
          for (int r = 0; r < 3; ++r) {
            for (int q = 0; q < 3; ++q) {
              const float tap = for_dx ? g[(2 - r) * 3 + (2 - q)] : g[r * 3 + q];
              expected += g_matrix[a][r] * tap * g_matrix[b][q];
            }
          }
          const int64_t at_point = p * winograd_point_stride(filters, channels) + row;
          EXPECT_NEAR(u[static_cast<size_t>(at_point)], expected, 1e-5) << f << "," << c << " point " << p;
          EXPECT_EQ(u_bf16[static_cast<size_t>(at_point)], to_bf16(u[static_cast<size_t>(at_point)]));
        }
      }
    }
  }
}

// The filter transform runs once per forward and backward on the whole weight, so its cost counts
// at every batch size. Built as (pairs, 16) and then gathered point by point, it made 16 passes
// over 16x the weights: 4.6% of the CIFAR fast model's bf16 step (batch 128, 1 thread, Xeon with
// AMX). Now one pass: it must run near the speed of writing its output.
TEST(WinogradFilterTransform, RunsNearTheSpeedOfWritingItsOutput) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "timing ratio: not meaningful under the sanitizers' instrumentation";
#endif
  const int64_t filters = 256, channels = 256, size = winograd_operand_size(filters, channels);
  const std::vector<float> w = random_values(filters * channels * 9, 12);
  // Xeon (Sapphire Rapids): 16 passes 15x the writing time; one pass 1.9x (forward) and 3.5x (dx,
  // whose reads of the weights are strided).
  constexpr double kBound = 7;
  std::vector<float> u(static_cast<size_t>(size));
  const double write = best_seconds(7, [&] {
    std::copy_n(w.data(), filters * channels * 9, u.data());
    std::fill(u.begin() + filters * channels * 9, u.end(), 1.0f);
  });
  for (const bool for_dx : {false, true}) {
    const double transform =
        best_seconds(7, [&] { winograd_filter_transform(w.data(), filters, channels, for_dx, u.data()); });
    EXPECT_LT(transform, kBound * write) << (for_dx ? "dx" : "forward") << ": " << transform * 1e3 << " ms, "
                                         << write * 1e3 << " ms to read the weights and write the operand";
  }
}

}  // namespace
}  // namespace shardnet
