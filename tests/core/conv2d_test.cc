#include "core/conv2d.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "core/parallel.h"
#include "tests/gradient_checker.h"

namespace shardnet {
namespace {

using testing::check_layer_gradients;
using testing::random_tensor;

// Direct convolution, the definition, for comparison.
Tensor naive_conv(const Tensor& x, const Tensor& w, const Tensor& b, int64_t stride, int64_t pad) {
  const int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), wd = x.dim(3);
  const int64_t f = w.dim(0), kh = w.dim(2), kw = w.dim(3);
  const int64_t oh = (h + 2 * pad - kh) / stride + 1, ow = (wd + 2 * pad - kw) / stride + 1;
  Tensor y({n, f, oh, ow});
  for (int64_t i = 0; i < n; ++i)
    for (int64_t o = 0; o < f; ++o)
      for (int64_t r = 0; r < oh; ++r)
        for (int64_t s = 0; s < ow; ++s) {
          double acc = b[o];
          for (int64_t ch = 0; ch < c; ++ch)
            for (int64_t p = 0; p < kh; ++p)
              for (int64_t q = 0; q < kw; ++q) {
                const int64_t ih = r * stride - pad + p, iw = s * stride - pad + q;
                if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
                acc += static_cast<double>(x[((i * c + ch) * h + ih) * wd + iw]) * w[((o * c + ch) * kh + p) * kw + q];
              }
          y[((i * f + o) * oh + r) * ow + s] = static_cast<float>(acc);
        }
  return y;
}

// The layer's forward output against the definition.
void expect_forward_matches_definition(Conv2D& conv, const Tensor& x, int64_t stride, int64_t pad, double tolerance) {
  Tensor y;
  conv.forward(x, y, Mode::kTrain);
  const Tensor expected = naive_conv(x, conv.weight().value, conv.bias().value, stride, pad);
  ASSERT_EQ(y.shape(), expected.shape());
  for (int64_t i = 0; i < y.numel(); ++i) ASSERT_NEAR(y[i], expected[i], tolerance) << "at " << i;
}

// One forward and backward on `threads` compute threads, dy drawn with `dy_seed`.
struct ConvResult {
  Tensor y, dx, dw;
};
ConvResult forward_backward(Conv2D& conv, const Tensor& x, uint64_t dy_seed, int threads) {
  set_compute_threads(threads);
  ConvResult r;
  conv.forward(x, r.y, Mode::kTrain);
  conv.backward(x, r.y, random_tensor(r.y.shape(), dy_seed), &r.dx);
  set_compute_threads(1);
  r.dw = conv.weight().grad;
  return r;
}

bool bitwise_equal(const Tensor& a, const Tensor& b) {
  return std::equal(a.span().begin(), a.span().end(), b.span().begin(), b.span().end());
}

void expect_bitwise_equal(const ConvResult& a, const ConvResult& b, int threads) {
  EXPECT_TRUE(bitwise_equal(a.y, b.y)) << "forward on " << threads << " threads";
  EXPECT_TRUE(bitwise_equal(a.dx, b.dx)) << "dx on " << threads << " threads";
  EXPECT_TRUE(bitwise_equal(a.dw, b.dw)) << "dW on " << threads << " threads";
}

struct ConvCase {
  int64_t n, c, h, w, filters, size, stride, pad;
};
void PrintTo(const ConvCase& k, std::ostream* os) {
  *os << "n" << k.n << " c" << k.c << " " << k.h << "x" << k.w << " f" << k.filters << " size" << k.size << " stride"
      << k.stride << " pad" << k.pad;
}

class Conv2DTest : public ::testing::TestWithParam<ConvCase> {};

TEST_P(Conv2DTest, MatchesDirectConvolution) {
  const ConvCase k = GetParam();
  Conv2D conv("conv", Conv2DConfig{k.filters, k.size, k.size, k.stride, k.stride, k.pad, k.pad, true, {}});
  const Shape out = conv.setup({k.c, k.h, k.w});
  conv.initialize(7);
  conv.bias().value = random_tensor({k.filters}, 8);
  const Tensor x = random_tensor({k.n, k.c, k.h, k.w}, 9);
  Tensor y;
  conv.forward(x, y, Mode::kTrain);
  const Tensor expected = naive_conv(x, conv.weight().value, conv.bias().value, k.stride, k.pad);
  ASSERT_EQ(y.shape(), expected.shape());
  EXPECT_EQ(Shape(y.shape().begin() + 1, y.shape().end()), out);
  for (int64_t i = 0; i < y.numel(); ++i) ASSERT_NEAR(y[i], expected[i], 1e-4) << "at " << i;
}

TEST_P(Conv2DTest, GradientsMatchFiniteDifferences) {
  const ConvCase k = GetParam();
  Conv2D conv("conv", Conv2DConfig{k.filters, k.size, k.size, k.stride, k.stride, k.pad, k.pad, true, {}});
  conv.setup({k.c, k.h, k.w});
  conv.initialize(11);
  conv.bias().value = random_tensor({k.filters}, 12);
  check_layer_gradients(conv, random_tensor({k.n, k.c, k.h, k.w}, 13));
}

INSTANTIATE_TEST_SUITE_P(Shapes, Conv2DTest,
                         ::testing::Values(ConvCase{2, 1, 5, 5, 3, 3, 1, 0}, ConvCase{2, 3, 6, 7, 4, 3, 1, 1},
                                           ConvCase{3, 2, 7, 6, 2, 3, 2, 1}, ConvCase{1, 2, 8, 8, 3, 5, 1, 2},
                                           ConvCase{2, 3, 9, 9, 2, 4, 3, 0}, ConvCase{2, 1, 4, 4, 2, 1, 1, 0},
                                           ConvCase{1, 2, 5, 6, 3, 2, 2, 1},
                                           // 144 output pixels: one image per GEMM, 10 blocks in 8 dW groups
                                           ConvCase{10, 2, 12, 12, 3, 3, 1, 1},
                                           // 1x1 on 144 pixels: the image is its own column matrix
                                           ConvCase{9, 3, 12, 12, 4, 1, 1, 0}));

// oneDNN's convolution primitives (algo = onednn), in float32: against the definition, finite
// differences, the im2col GEMM path and themselves on other thread counts. Odd planes, strides
// whose last window ends short of the padded edge, 1x1, a batch of uneven calls (7 images in calls
// of 2), channel counts below and above oneDNN's blocks of 16.
class OneDnnConvTest : public ::testing::TestWithParam<ConvCase> {};

Conv2DConfig config_of(const ConvCase& k, ConvAlgorithm algorithm) {
  Conv2DConfig c{k.filters, k.size, k.size, k.stride, k.stride, k.pad, k.pad, true, {}};
  c.algorithm = algorithm;
  return c;
}

TEST_P(OneDnnConvTest, MatchesDirectConvolutionAndGradients) {
  const ConvCase k = GetParam();
  Conv2D conv("conv", config_of(k, ConvAlgorithm::kOneDnn));
  conv.setup({k.c, k.h, k.w});
  ASSERT_TRUE(conv.uses_onednn());
  conv.initialize(21);
  conv.bias().value = random_tensor({k.filters}, 22);
  const Tensor x = random_tensor({k.n, k.c, k.h, k.w}, 23);
  expect_forward_matches_definition(conv, x, k.stride, k.pad, 1e-4);
  check_layer_gradients(conv, x);
}

TEST_P(OneDnnConvTest, MatchesTheGemmPathOnAnyThreadCount) {
  const ConvCase k = GetParam();
  Conv2D onednn("conv", config_of(k, ConvAlgorithm::kOneDnn)), gemm("conv", config_of(k, ConvAlgorithm::kGemm));
  for (Conv2D* conv : {&onednn, &gemm}) {
    conv->setup({k.c, k.h, k.w});
    conv->initialize(31);
    conv->bias().value = random_tensor({k.filters}, 32);
  }
  const Tensor x = random_tensor({k.n, k.c, k.h, k.w}, 33);
  const ConvResult expected = forward_backward(gemm, x, 34, 1);
  const Tensor db_expected = gemm.bias().grad;
  auto near = [](const Tensor& a, const Tensor& b, const char* what) {
    ASSERT_EQ(a.shape(), b.shape()) << what;
    for (int64_t i = 0; i < a.numel(); ++i) ASSERT_NEAR(a[i], b[i], 1e-5 * (1.0 + std::abs(b[i]))) << what << " " << i;
  };
  ConvResult first;
  for (int threads : {1, 2, 3}) {
    const ConvResult r = forward_backward(onednn, x, 34, threads);
    near(r.y, expected.y, "y");
    near(r.dx, expected.dx, "dx");
    near(r.dw, expected.dw, "dW");
    near(onednn.bias().grad, db_expected, "db");
    if (threads == 1) {
      first = r;
    } else {
      expect_bitwise_equal(r, first, threads);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, OneDnnConvTest,
                         ::testing::Values(ConvCase{7, 16, 9, 9, 8, 3, 1, 1}, ConvCase{5, 3, 12, 12, 6, 5, 2, 2},
                                           ConvCase{3, 17, 6, 7, 5, 2, 1, 0}, ConvCase{4, 16, 8, 8, 4, 1, 1, 0},
                                           ConvCase{2, 16, 10, 10, 4, 3, 2, 0}, ConvCase{1, 20, 5, 5, 33, 5, 1, 2}));

TEST(Conv2D, AutoKeepsFewInputChannelsOffOneDnn) {
  Conv2D first("conv", Conv2DConfig{32, 5, 5, 1, 1, 2, 2, true, {}});
  first.setup({3, 28, 28});
  EXPECT_FALSE(first.uses_onednn());
  Conv2D explicit_onednn("conv", config_of(ConvCase{1, 3, 28, 28, 32, 5, 1, 2}, ConvAlgorithm::kOneDnn));
  explicit_onednn.setup({3, 28, 28});
  EXPECT_TRUE(explicit_onednn.uses_onednn());
}

// Winograd F(2x2, 3x3): odd and even planes (tiles past the edge), one-pixel planes, a batch
// spread over several blocks of tiles.
struct WinogradCase {
  int64_t n, c, h, w, filters;
};
class WinogradConvTest : public ::testing::TestWithParam<WinogradCase> {};

Conv2DConfig three_by_three(int64_t filters, ConvAlgorithm algorithm) {
  Conv2DConfig c{filters, 3, 3, 1, 1, 1, 1, true, {}};
  c.algorithm = algorithm;
  return c;
}

TEST_P(WinogradConvTest, MatchesDirectConvolutionAndGradients) {
  const WinogradCase k = GetParam();
  Conv2D conv("conv", three_by_three(k.filters, ConvAlgorithm::kWinograd));
  conv.setup({k.c, k.h, k.w});
  ASSERT_TRUE(conv.uses_winograd());
  conv.initialize(21);
  conv.bias().value = random_tensor({k.filters}, 22);
  expect_forward_matches_definition(conv, random_tensor({k.n, k.c, k.h, k.w}, 23), 1, 1, 2e-5);
  if (k.n * k.c * k.h * k.w <= 400) check_layer_gradients(conv, random_tensor({k.n, k.c, k.h, k.w}, 24));
}

TEST_P(WinogradConvTest, GradientsMatchTheGemmPath) {
  const WinogradCase k = GetParam();
  Conv2D winograd("conv", three_by_three(k.filters, ConvAlgorithm::kWinograd));
  Conv2D direct("conv", three_by_three(k.filters, ConvAlgorithm::kGemm));
  winograd.setup({k.c, k.h, k.w});
  direct.setup({k.c, k.h, k.w});
  ASSERT_FALSE(direct.uses_winograd());
  winograd.initialize(31);
  direct.initialize(31);
  const Tensor x = random_tensor({k.n, k.c, k.h, k.w}, 32);
  Tensor y1, y2, dx1, dx2;
  winograd.forward(x, y1, Mode::kTrain);
  direct.forward(x, y2, Mode::kTrain);
  const Tensor dy = random_tensor(y1.shape(), 33);
  winograd.backward(x, y1, dy, &dx1);
  direct.backward(x, y2, dy, &dx2);
  ASSERT_EQ(dx1.shape(), dx2.shape());
  for (int64_t i = 0; i < dx1.numel(); ++i) ASSERT_NEAR(dx1[i], dx2[i], 2e-5) << "dx at " << i;
  // dW sums over every pixel of the batch: a tolerance relative to its size.
  double largest = 0.0;
  for (int64_t i = 0; i < direct.weight().grad.numel(); ++i)
    largest = std::max(largest, std::abs(double(direct.weight().grad[i])));
  for (int64_t i = 0; i < winograd.weight().grad.numel(); ++i) {
    ASSERT_NEAR(winograd.weight().grad[i], direct.weight().grad[i], 1e-5 * largest + 1e-6) << "dW at " << i;
  }
  for (int64_t i = 0; i < winograd.bias().grad.numel(); ++i) {
    ASSERT_FLOAT_EQ(winograd.bias().grad[i], direct.bias().grad[i]) << "bias at " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, WinogradConvTest,
                         ::testing::Values(WinogradCase{2, 3, 5, 5, 4}, WinogradCase{3, 2, 6, 7, 3},
                                           WinogradCase{2, 4, 1, 1, 2}, WinogradCase{2, 2, 2, 3, 5},
                                           WinogradCase{40, 16, 7, 7, 16}, WinogradCase{9, 8, 15, 15, 24}));

TEST(Conv2D, AutoPicksWinogradOnlyWhereItApplies) {
  Conv2D wide("conv", three_by_three(32, ConvAlgorithm::kAuto));
  wide.setup({32, 8, 8});
  EXPECT_TRUE(wide.uses_winograd());
  Conv2D narrow("conv", three_by_three(32, ConvAlgorithm::kAuto));
  narrow.setup({3, 8, 8});  // too few input channels
  EXPECT_FALSE(narrow.uses_winograd());
  Conv2D five("conv", Conv2DConfig{32, 5, 5, 1, 1, 2, 2, true, {}, false, false, ConvAlgorithm::kWinograd});
  EXPECT_THROW(five.setup({32, 8, 8}), ShapeError);
}

// Blocks and dW groups are fixed by the batch, not by the threads: bitwise the same on 1, 2 or 3.
TEST(Conv2D, ResultDoesNotDependOnTheThreadCount) {
  // The last case takes Winograd (auto, 32 channels): 40 images of 16 tiles = 3 blocks.
  for (const ConvCase k :
       {ConvCase{16, 3, 14, 14, 8, 5, 1, 2}, ConvCase{12, 4, 6, 6, 5, 3, 1, 1}, ConvCase{40, 32, 7, 7, 32, 3, 1, 1}}) {
    Conv2D conv("conv", Conv2DConfig{k.filters, k.size, k.size, k.stride, k.stride, k.pad, k.pad, true, {}});
    conv.setup({k.c, k.h, k.w});
    EXPECT_EQ(conv.uses_winograd(), k.c == 32);
    conv.initialize(3);
    const Tensor x = random_tensor({k.n, k.c, k.h, k.w}, 4);
    const ConvResult reference = forward_backward(conv, x, 5, 1);
    for (int threads : {2, 3}) expect_bitwise_equal(forward_backward(conv, x, 5, threads), reference, threads);
  }
}

// Random geometries beyond the hand-picked ones.
TEST(Conv2D, RandomShapesMatchDirectConvolution) {
  CounterRng rng(2024);
  for (int trial = 0; trial < 25; ++trial) {
    const int64_t size = 1 + static_cast<int64_t>(rng.below(5));
    const int64_t pad = static_cast<int64_t>(rng.below(static_cast<uint64_t>(size)));
    const int64_t stride = 1 + static_cast<int64_t>(rng.below(3));
    const int64_t h = size + static_cast<int64_t>(rng.below(8)), w = size + static_cast<int64_t>(rng.below(8));
    const int64_t c = 1 + static_cast<int64_t>(rng.below(3)), f = 1 + static_cast<int64_t>(rng.below(4));
    const int64_t n = 1 + static_cast<int64_t>(rng.below(3));
    Conv2D conv("conv", Conv2DConfig{f, size, size, stride, stride, pad, pad, true, {}});
    conv.setup({c, h, w});
    conv.initialize(static_cast<uint64_t>(trial));
    conv.bias().value = random_tensor({f}, 100 + static_cast<uint64_t>(trial));
    const Tensor x = random_tensor({n, c, h, w}, 200 + static_cast<uint64_t>(trial));
    Tensor y;
    conv.forward(x, y, Mode::kEval);
    const Tensor expected = naive_conv(x, conv.weight().value, conv.bias().value, stride, pad);
    ASSERT_EQ(y.shape(), expected.shape()) << "trial " << trial;
    for (int64_t i = 0; i < y.numel(); ++i) ASSERT_NEAR(y[i], expected[i], 1e-4) << "trial " << trial;
  }
}

// dirac = 1: the first min(filters, channels) filters pass their own channel through unchanged.
TEST(Conv2D, DiracInitPassesChannelsThrough) {
  Conv2DConfig c;
  c.filters = 5;
  c.pad_h = c.pad_w = 1;
  c.dirac = true;
  Conv2D conv("conv", c);
  conv.setup({3, 4, 6});
  conv.initialize(7);
  const Tensor x = random_tensor({2, 3, 4, 6}, 3);
  Tensor y;
  conv.forward(x, y, Mode::kEval);
  for (int64_t n = 0; n < 2; ++n) {
    for (int64_t i = 0; i < 3 * 24; ++i) EXPECT_FLOAT_EQ(y[n * 5 * 24 + i], x[n * 3 * 24 + i]);
  }
  float rest = 0.0f;  // the two extra filters keep their random init
  for (int64_t i = 3 * 24; i < 5 * 24; ++i) rest += std::abs(y[i] - 0.0f);
  EXPECT_GT(rest, 0.0f);
}

TEST(Conv2D, RejectsFlatInputAndOversizedKernel) {
  Conv2D conv("conv", Conv2DConfig{4, 5, 5, 1, 1, 0, 0, true, {}});
  EXPECT_THROW(conv.setup({784}), ShapeError);
  EXPECT_THROW(conv.setup({1, 3, 3}), ShapeError);
}

}  // namespace
}  // namespace shardnet
