#include "core/deconv2d.h"

#include <gtest/gtest.h>

#include "core/conv2d.h"
#include "core/parallel.h"
#include "tests/gradient_checker.h"

namespace shardnet {
namespace {

using testing::random_tensor;

double dot(const Tensor& a, const Tensor& b) {
  double s = 0.0;
  for (int64_t i = 0; i < a.numel(); ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

struct Geometry {
  int64_t size, stride, pad, output_pad;
};

// Transposed convolution is conv's adjoint: with the same weight tensor (conv's (F, C, k, k) is
// deconv's (in = F, out = C, k, k)), <conv(x), y> = <x, deconv(y)> for every x and y.
TEST(Deconv2D, IsTheAdjointOfConv) {
  for (const Geometry& g :
       {Geometry{3, 1, 1, 0}, Geometry{4, 2, 1, 0}, Geometry{3, 2, 1, 1}, Geometry{2, 2, 0, 0}, Geometry{5, 3, 2, 2}}) {
    SCOPED_TRACE("size " + std::to_string(g.size) + " stride " + std::to_string(g.stride) + " pad " +
                 std::to_string(g.pad) + " output_pad " + std::to_string(g.output_pad));
    const int64_t channels = 3, filters = 4, in_h = 5, in_w = 4;
    Deconv2D deconv("deconv", Deconv2DConfig{channels, g.size, g.stride, g.pad, g.output_pad, false, {}});
    const Shape out = deconv.setup({filters, in_h, in_w});
    EXPECT_EQ(out, (Shape{channels, (in_h - 1) * g.stride - 2 * g.pad + g.size + g.output_pad,
                          (in_w - 1) * g.stride - 2 * g.pad + g.size + g.output_pad}));
    Conv2DConfig cc;
    cc.filters = filters;
    cc.kernel_h = cc.kernel_w = g.size;
    cc.stride_h = cc.stride_w = g.stride;
    cc.pad_h = cc.pad_w = g.pad;
    cc.bias = false;
    Conv2D conv("conv", cc);
    EXPECT_EQ(conv.setup(out), (Shape{filters, in_h, in_w})) << "conv maps deconv's output back to its input size";
    deconv.initialize(1);
    conv.weight().value = deconv.weight().value;
    const Tensor big = random_tensor({2, out[0], out[1], out[2]}, 3);
    const Tensor small = random_tensor({2, filters, in_h, in_w}, 4);
    Tensor conv_out, deconv_out;
    conv.forward(big, conv_out, Mode::kTrain);
    deconv.forward(small, deconv_out, Mode::kTrain);
    const double a = dot(conv_out, small), b = dot(big, deconv_out);
    EXPECT_NEAR(a, b, 1e-4 * std::abs(a) + 1e-5);
  }
}

TEST(Deconv2D, SpreadsEachInputValueAsTheKernel) {
  // One input pixel of value 2 at stride 2: the output is 2 x the kernel, plus the bias.
  Deconv2D deconv("d", Deconv2DConfig{1, 3, 2, 0, 0, true, {}});
  EXPECT_EQ(deconv.setup({1, 1, 1}), (Shape{1, 3, 3}));
  for (int64_t i = 0; i < 9; ++i) deconv.weight().value[i] = static_cast<float>(i);
  deconv.bias().value[0] = 0.5f;
  Tensor x({1, 1, 1, 1}), y;
  x[0] = 2.0f;
  deconv.forward(x, y, Mode::kTrain);
  for (int64_t i = 0; i < 9; ++i) EXPECT_FLOAT_EQ(y[i], 2.0f * static_cast<float>(i) + 0.5f);
}

TEST(Deconv2D, GradientsAndThreadCountDoNotChangeTheResult) {
  Deconv2D deconv("d", Deconv2DConfig{3, 4, 2, 1, 0, true, {}});
  deconv.setup({2, 4, 4});
  deconv.initialize(2);
  const Tensor x = random_tensor({11, 2, 4, 4}, 5);
  testing::check_layer_gradients(deconv, random_tensor({2, 2, 4, 4}, 6));
  auto run = [&](int threads) {
    set_compute_threads(threads);
    Tensor y, dx;
    deconv.forward(x, y, Mode::kTrain);
    deconv.backward(x, y, y, &dx);
    std::vector<float> all(y.span().begin(), y.span().end());
    all.insert(all.end(), dx.span().begin(), dx.span().end());
    all.insert(all.end(), deconv.weight().grad.span().begin(), deconv.weight().grad.span().end());
    return all;
  };
  const auto one = run(1), two = run(2);
  set_compute_threads(1);
  EXPECT_EQ(one, two);
}

TEST(Deconv2D, RefusesOutputPadNotBelowStride) {
  EXPECT_THROW(Deconv2D("d", Deconv2DConfig{1, 3, 2, 0, 2, true, {}}), std::invalid_argument);
}

}  // namespace
}  // namespace shardnet
