#include "core/deconv2d.h"

#include <algorithm>
#include <cassert>

#include "core/gemm.h"
#include "core/lane_sum.h"
#include "core/layer_registry.h"
#include "core/parallel.h"

namespace shardnet {

Deconv2D::Deconv2D(std::string name, const Deconv2DConfig& config) : Layer(std::move(name)), config_(config) {
  if (config.filters <= 0) throw std::invalid_argument("deconv: filters must be positive");
  if (config.size <= 0 || config.stride <= 0) throw std::invalid_argument("deconv: size and stride must be positive");
  if (config.pad < 0) throw std::invalid_argument("deconv: pad must not be negative");
  if (config.output_pad < 0 || config.output_pad >= config.stride) {
    throw std::invalid_argument("deconv: output_pad must be in [0, stride - 1] (it is " +
                                std::to_string(config.output_pad) + ", stride " + std::to_string(config.stride) + ")");
  }
}

Shape Deconv2D::setup(const Shape& input) {
  if (input.size() != 3) {
    throw ShapeError("deconv needs a (channels, height, width) input, got " + shape_string(input));
  }
  in_channels_ = input[0];
  in_h_ = input[1];
  in_w_ = input[2];
  const int64_t k = config_.size, s = config_.stride, p = config_.pad, op = config_.output_pad;
  const int64_t out_h = (in_h_ - 1) * s - 2 * p + k + op, out_w = (in_w_ - 1) * s - 2 * p + k + op;
  if (out_h <= 0 || out_w <= 0) {
    throw ShapeError("deconv: pad " + std::to_string(p) + " leaves no output for the input " + shape_string(input));
  }
  adjoint_ = ConvGeometry{config_.filters, out_h, out_w, k, k, s, s, p, p};
  assert(adjoint_.out_h() == in_h_ && adjoint_.out_w() == in_w_);
  weight_ = Param::weight(name() + "/weight", {in_channels_, config_.filters, k, k});
  if (config_.bias) bias_ = Param::bias(name() + "/bias", {config_.filters});
  return {config_.filters, out_h, out_w};
}

void Deconv2D::initialize(uint64_t seed) {
  // PyTorch's fans for ConvTranspose2d's (in, out, k, k) weight: dimension 1 is its "fan in".
  const int64_t k2 = config_.size * config_.size;
  initialize_weights(weight_.value, config_.init, config_.filters * k2, in_channels_ * k2, seed);
  if (config_.bias) bias_.value.zero();
}

std::vector<Param*> Deconv2D::params() {
  if (config_.bias) return {&weight_, &bias_};
  return {&weight_};
}

std::string Deconv2D::describe() const {
  return "filters=" + std::to_string(config_.filters) + " size=" + std::to_string(config_.size) +
         " stride=" + std::to_string(config_.stride) + " pad=" + std::to_string(config_.pad) +
         " output_pad=" + std::to_string(config_.output_pad);
}

Tensor& Deconv2D::columns(int chunk) {
  if (columns_.size() < static_cast<size_t>(compute_threads())) columns_.resize(static_cast<size_t>(compute_threads()));
  Tensor& c = columns_[static_cast<size_t>(chunk)];
  c.reshape({adjoint_.col_rows(), adjoint_.col_cols()});
  return c;
}

void Deconv2D::forward(const Tensor& x, Tensor& y, Mode) {
  const int64_t n = x.rows(), pixels = in_h_ * in_w_, f = config_.filters;
  const int64_t out_size = f * adjoint_.height * adjoint_.width;
  assert(x.row_size() == in_channels_ * pixels);
  y.reshape({n, f, adjoint_.height, adjoint_.width});
  columns(compute_threads() - 1);
  // Images are independent; each GEMM has the same shape whatever the batch, so exact mode needs
  // no grains here.
  parallel_chunks(n, 1, [&](int chunk, int64_t first, int64_t last) {
    Tensor& cols = columns(chunk);
    for (int64_t i = first; i < last; ++i) {
      gemm(true, false, adjoint_.col_rows(), pixels, in_channels_, 1.0f, weight_.value.data(),
           x.data() + i * in_channels_ * pixels, 0.0f, cols.data());
      float* out = y.data() + i * out_size;
      std::fill_n(out, out_size, 0.0f);
      col2im(adjoint_, cols.data(), pixels, out);
      if (!config_.bias) continue;
      const int64_t plane = adjoint_.height * adjoint_.width;
      for (int64_t c = 0; c < f; ++c) {
        const float b = bias_.value[c];
        for (int64_t p = 0; p < plane; ++p) out[c * plane + p] += b;
      }
    }
  });
}

void Deconv2D::backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) {
  if (dx != nullptr) dx->reshape(x.shape());
  const int64_t image = in_channels_ * in_h_ * in_w_;
  for_each_grain(x.rows(), [&](int64_t first, int64_t count) {
    backward_images(x.data() + first * image, dy.data() + first * dy.row_size(), count,
                    dx != nullptr ? dx->data() + first * image : nullptr);
    deposit_grain(params());
  });
}

void Deconv2D::backward_images(const float* x, const float* dy, int64_t n, float* dx) {
  const int64_t pixels = in_h_ * in_w_, image = in_channels_ * pixels, rows = adjoint_.col_rows();
  const int64_t f = config_.filters, plane = adjoint_.height * adjoint_.width, out_size = f * plane;
  if (config_.bias) channel_sums(dy, n, f, plane, 0, f, bias_.grad.data());
  // dW over a fixed number of groups of images, whatever the thread count (so the result does not
  // depend on it), added in order at the end.
  const int64_t groups = std::clamp<int64_t>(n, 1, kWeightGradGroups);
  group_grads_.resize(static_cast<size_t>(groups));
  for (int64_t g = 1; g < groups; ++g) group_grads_[static_cast<size_t>(g)].reshape(weight_.grad.shape());
  if (n == 0) weight_.grad.zero();
  columns(compute_threads() - 1);
  parallel_chunks(groups, 1, [&](int chunk, int64_t first_group, int64_t last_group) {
    Tensor& cols = columns(chunk);
    for (int64_t g = first_group; g < last_group; ++g) {
      float* grad = g == 0 ? weight_.grad.data() : group_grads_[static_cast<size_t>(g)].data();
      const int64_t begin = g * n / groups, end = (g + 1) * n / groups;
      for (int64_t i = begin; i < end; ++i) {
        // conv's forward of dy: its columns, then dx = W dcols and dW += x dcols^T.
        im2col(adjoint_, dy + i * out_size, cols.data(), pixels);
        gemm(false, true, in_channels_, rows, pixels, 1.0f, x + i * image, cols.data(), i == begin ? 0.0f : 1.0f, grad);
        if (dx != nullptr) {
          gemm(false, false, in_channels_, pixels, rows, 1.0f, weight_.value.data(), cols.data(), 0.0f, dx + i * image);
        }
      }
    }
  });
  float* grad = weight_.grad.data();
  for (int64_t g = 1; g < groups; ++g) {
    const float* part = group_grads_[static_cast<size_t>(g)].data();
    for (int64_t i = 0; i < weight_.grad.numel(); ++i) grad[i] += part[i];
  }
}

}  // namespace shardnet

SHARDNET_REGISTER_LAYERS(deconv2d) {
  using namespace shardnet;
  std::vector<OptionSpec> options = {
      int_option("filters", std::nullopt, 1, kNoLimit, "output channels"),
      int_option("size", 2, 1, kNoLimit, "square kernel size"),
      int_option("stride", 1, 1, kNoLimit, "stride (the factor the maps grow by)"),
      int_option("pad", 0, 0, kNoLimit, "rows and columns cut from each side of the output"),
      int_option("output_pad", 0, 0, kNoLimit, "rows and columns added at the bottom and right (< stride)"),
      bool_option("bias", true, "learn a bias")};
  for (auto& o : weight_init_options()) options.push_back(o);
  registry.add(LayerType{
      "deconv",
      "transposed 2-D convolution on (C, H, W): conv's adjoint (col2im of W^T x)",
      std::move(options),
      [](const std::string& name, const LayerOptions& o) {
        Deconv2DConfig c;
        c.filters = o.integer("filters");
        c.size = o.integer("size");
        c.stride = o.integer("stride");
        c.pad = o.integer("pad");
        c.output_pad = o.integer("output_pad");
        c.bias = o.flag("bias");
        c.init = weight_init(o);
        return std::make_unique<Deconv2D>(name, c);
      },
      {},
      ExampleInput{{2, 3, 3}, {{"filters", "3"}, {"size", "3"}, {"stride", "2"}, {"pad", "1"}, {"output_pad", "1"}}}});
}
