#include "core/whitening.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/conv2d.h"
#include "core/random.h"
#include "tests/gradient_checker.h"

namespace shardnet {
namespace {

TEST(Whitening, SymmetricEigenDecomposes) {
  const int64_t n = 12;
  const Tensor b = testing::random_tensor({n, n}, 5);
  std::vector<double> a(n * n, 0.0);  // b b^T: symmetric, positive semi-definite
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t k = 0; k < n; ++k) a[i * n + j] += static_cast<double>(b[i * n + k]) * b[j * n + k];
  std::vector<double> values, vectors;
  symmetric_eigen(a, n, values, vectors);
  for (int64_t r = 0; r < n; ++r) {
    if (r > 0) {
      EXPECT_GE(values[r - 1], values[r]);
    }
    for (int64_t i = 0; i < n; ++i) {  // a v = lambda v
      double av = 0.0;
      for (int64_t k = 0; k < n; ++k) av += a[i * n + k] * vectors[r * n + k];
      EXPECT_NEAR(av, values[r] * vectors[r * n + i], 1e-9);
    }
    for (int64_t s = 0; s < n; ++s) {  // orthonormal
      double dot = 0.0;
      for (int64_t k = 0; k < n; ++k) dot += vectors[r * n + k] * vectors[s * n + k];
      EXPECT_NEAR(dot, r == s ? 1.0 : 0.0, 1e-9);
    }
  }
}

// Images with correlated channels and an offset: after whitening, the conv's first half of outputs
// has zero mean and an identity covariance over all patches; the second half is its negative.
TEST(Whitening, ConvOutputsAreWhiteOnTheData) {
  const int64_t n = 40, h = 9, w = 9;
  Tensor images({n, 3, h, w});
  CounterRng rng(11);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t p = 0; p < h * w; ++p) {
      const float r = rng.normal(), g = rng.normal(), b = rng.normal();
      images[(i * 3 + 0) * h * w + p] = 0.5f + 0.2f * r;
      images[(i * 3 + 1) * h * w + p] = 0.4f + 0.15f * r + 0.1f * g;
      images[(i * 3 + 2) * h * w + p] = 0.3f + 0.1f * g + 0.1f * b;
    }
  }
  Conv2DConfig c;
  c.filters = 24;
  c.kernel_h = c.kernel_w = 2;
  c.whiten = true;
  Conv2D conv("stem", c);
  const Shape out = conv.setup({3, h, w});
  conv.initialize(1);
  conv.initialize_whitening(images);
  Tensor y;
  conv.forward(images, y, Mode::kEval);
  const int64_t plane = out[1] * out[2], half = 12;
  const double count = static_cast<double>(n * plane);
  for (int64_t a = 0; a < half; ++a) {
    double mean = 0.0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t p = 0; p < plane; ++p) {
        mean += y[(i * 24 + a) * plane + p] / count;
        ASSERT_FLOAT_EQ(y[(i * 24 + a) * plane + p], -y[(i * 24 + half + a) * plane + p]);
      }
    EXPECT_NEAR(mean, 0.0, 1e-4);
    for (int64_t b = 0; b < half; ++b) {
      double cov = 0.0;
      for (int64_t i = 0; i < n; ++i)
        for (int64_t p = 0; p < plane; ++p) cov += y[(i * 24 + a) * plane + p] * y[(i * 24 + b) * plane + p] / count;
      // eps (5e-4 of the mean variance) shrinks the smallest directions' variance by a little.
      EXPECT_NEAR(cov, a == b ? 1.0 : 0.0, a == b ? 0.01 : 1e-3) << a << "," << b;
    }
  }
}

TEST(Whitening, RejectsFiltersItCannotFill) {
  Tensor images = testing::random_tensor({4, 1, 5, 5}, 2);
  auto conv_with = [](int64_t filters, bool bias) {
    Conv2DConfig c;
    c.filters = filters;
    c.kernel_h = c.kernel_w = 2;
    c.whiten = true;
    c.bias = bias;
    auto conv = std::make_unique<Conv2D>("stem", c);
    conv->setup({1, 5, 5});
    return conv;
  };
  EXPECT_THROW(conv_with(7, true)->initialize_whitening(images), std::invalid_argument);   // odd
  EXPECT_THROW(conv_with(10, true)->initialize_whitening(images), std::invalid_argument);  // > 2 x 4
  EXPECT_THROW(conv_with(8, false)->initialize_whitening(images), std::invalid_argument);  // no bias
  EXPECT_NO_THROW(conv_with(4, true)->initialize_whitening(images));
}

}  // namespace
}  // namespace shardnet
