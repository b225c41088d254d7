#include "core/conv2d.h"

#include <algorithm>
#include <cassert>

#include "core/gemm.h"
#include "core/whitening.h"

namespace shardnet {

Conv2D::Conv2D(std::string name, const Conv2DConfig& config) : Layer(std::move(name)), config_(config) {
  if (config.filters <= 0) throw std::invalid_argument("conv: filters must be positive");
  if (config.kernel_h <= 0 || config.kernel_w <= 0) throw std::invalid_argument("conv: size must be positive");
  if (config.stride_h <= 0 || config.stride_w <= 0) throw std::invalid_argument("conv: stride must be positive");
  if (config.pad_h < 0 || config.pad_w < 0) throw std::invalid_argument("conv: pad must not be negative");
}

Shape Conv2D::setup(const Shape& input) {
  if (input.size() != 3) {
    throw ShapeError("conv needs a (channels, height, width) input, got " + shape_string(input));
  }
  geom_ = ConvGeometry{input[0], input[1], input[2], config_.kernel_h, config_.kernel_w,
                       config_.stride_h, config_.stride_w, config_.pad_h, config_.pad_w};
  if (input[1] + 2 * config_.pad_h < config_.kernel_h || input[2] + 2 * config_.pad_w < config_.kernel_w) {
    throw ShapeError("conv kernel " + std::to_string(config_.kernel_h) + "x" +
                     std::to_string(config_.kernel_w) + " is larger than the padded input " +
                     shape_string(input));
  }
  const Shape wshape{config_.filters, geom_.channels, geom_.kernel_h, geom_.kernel_w};
  weight_ = Param{name() + "/weight", Tensor(wshape), Tensor(wshape), true};
  weight_.grad.zero();
  if (config_.bias) {
    bias_ = Param{name() + "/bias", Tensor({config_.filters}), Tensor({config_.filters}), false};
    bias_.value.zero();
    bias_.grad.zero();
  }
  return {config_.filters, geom_.out_h(), geom_.out_w()};
}

void Conv2D::initialize(uint64_t seed) {
  const int64_t k = geom_.kernel_h * geom_.kernel_w;
  initialize_weights(weight_.value, config_.init, geom_.channels * k, config_.filters * k, seed);
  if (config_.dirac) set_identity_filters();
  if (config_.bias) bias_.value.zero();
}

void Conv2D::set_identity_filters() {
  const int64_t kh = geom_.kernel_h, kw = geom_.kernel_w, k = kh * kw;
  for (int64_t f = 0; f < std::min(config_.filters, geom_.channels); ++f) {
    float* filter = weight_.value.data() + f * geom_.channels * k;
    std::fill_n(filter, geom_.channels * k, 0.0f);
    filter[f * k + (kh / 2) * kw + kw / 2] = 1.0f;  // the centre tap of its own channel
  }
}

void Conv2D::initialize_whitening(const Tensor& images) {
  if (!config_.bias) throw std::invalid_argument(name() + ": whiten = 1 needs bias = 1 (the bias removes the patch mean)");
  PatchMoments moments(geom_.col_rows());
  const int64_t count = images.rows(), per_block = images_per_block(count);
  const int64_t image_size = geom_.channels * geom_.height * geom_.width;
  Tensor columns;
  for (int64_t first = 0; first < count; first += per_block) {
    const int64_t n = std::min(per_block, count - first);
    columns.reshape({geom_.col_rows(), n * geom_.col_cols()});
    im2col_batch(geom_, images.data() + first * image_size, n, columns.data());
    moments.add(columns.data(), n * geom_.col_cols());
  }
  try {
    whitening_filters(moments, config_.filters, kWhiteningEps, weight_.value.data(), bias_.value.data());
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(name() + ": " + e.what());
  }
  columns_source_ = nullptr;
}

int64_t Conv2D::images_per_block(int64_t batch) const {
  const int64_t per_image = geom_.col_rows() * geom_.col_cols() * static_cast<int64_t>(sizeof(float));
  return std::clamp<int64_t>(kColumnBudgetBytes / std::max<int64_t>(per_image, 1), 1, std::max<int64_t>(batch, 1));
}

void Conv2D::fill_columns(const Tensor& x, int64_t first, int64_t count) {
  if (columns_source_ == x.data() && columns_first_ == first && columns_count_ == count) return;
  const int64_t pixels = geom_.col_cols();
  const int64_t image_size = geom_.channels * geom_.height * geom_.width;
  columns_.reshape({geom_.col_rows(), count * pixels});
  im2col_batch(geom_, x.data() + first * image_size, count, columns_.data());
  columns_source_ = x.data();
  columns_first_ = first;
  columns_count_ = count;
}

void Conv2D::forward(const Tensor& x, Tensor& y, Mode) {
  const int64_t n = x.rows(), f = config_.filters, pixels = geom_.col_cols();
  assert(x.row_size() == geom_.channels * geom_.height * geom_.width);
  y.reshape({n, f, geom_.out_h(), geom_.out_w()});
  columns_source_ = nullptr;  // new input: whatever the columns held is stale
  const int64_t block = images_per_block(n);
  for (int64_t first = 0; first < n; first += block) {
    const int64_t count = std::min(block, n - first);
    fill_columns(x, first, count);
    out_columns_.reshape({f, count * pixels});
    gemm(false, false, f, count * pixels, geom_.col_rows(), 1.0f, weight_.value.data(),
         columns_.data(), 0.0f, out_columns_.data());
    // (filters, images * pixels) -> (images, filters, pixels), adding the bias on the way.
    for (int64_t i = 0; i < count; ++i) {
      for (int64_t c = 0; c < f; ++c) {
        const float* src = out_columns_.data() + c * count * pixels + i * pixels;
        float* dst = y.data() + ((first + i) * f + c) * pixels;
        const float b = config_.bias ? bias_.value[c] : 0.0f;
        for (int64_t p = 0; p < pixels; ++p) dst[p] = src[p] + b;
      }
    }
  }
}

void Conv2D::backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) {
  const int64_t n = x.rows(), f = config_.filters, pixels = geom_.col_cols();
  const int64_t image_size = geom_.channels * geom_.height * geom_.width;
  if (config_.bias) {
    bias_.grad.zero();
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t c = 0; c < f; ++c) {
        const float* src = dy.data() + (i * f + c) * pixels;
        float s = 0.0f;
        for (int64_t p = 0; p < pixels; ++p) s += src[p];
        bias_.grad[c] += s;
      }
    }
  }
  if (dx != nullptr) {
    dx->reshape(x.shape());
    dx->zero();
  }
  const int64_t block = images_per_block(n);
  // Walk blocks last to first so that, with several blocks, the one forward left in `columns_`
  // is reused before it is overwritten.
  const int64_t blocks = (n + block - 1) / block;
  for (int64_t b = blocks - 1; b >= 0; --b) {
    const int64_t first = b * block, count = std::min(block, n - first);
    fill_columns(x, first, count);
    out_columns_.reshape({f, count * pixels});
    for (int64_t i = 0; i < count; ++i) {
      for (int64_t c = 0; c < f; ++c) {
        const float* src = dy.data() + ((first + i) * f + c) * pixels;
        std::copy_n(src, pixels, out_columns_.data() + c * count * pixels + i * pixels);
      }
    }
    gemm(false, true, f, geom_.col_rows(), count * pixels, 1.0f, out_columns_.data(),
         columns_.data(), b == blocks - 1 ? 0.0f : 1.0f, weight_.grad.data());
    if (dx != nullptr) {
      // The column buffer is free once dW is done: reuse it for dL/dcolumns.
      gemm(true, false, geom_.col_rows(), count * pixels, f, 1.0f, weight_.value.data(),
           out_columns_.data(), 0.0f, columns_.data());
      columns_source_ = nullptr;
      col2im_batch(geom_, columns_.data(), count, dx->data() + first * image_size);
    }
  }
}

std::vector<Param*> Conv2D::params() {
  if (config_.bias) return {&weight_, &bias_};
  return {&weight_};
}

std::string Conv2D::describe() const {
  return "filters=" + std::to_string(config_.filters) + " size=" + std::to_string(config_.kernel_h) +
         "x" + std::to_string(config_.kernel_w) + " stride=" + std::to_string(config_.stride_h) +
         " pad=" + std::to_string(config_.pad_h);
}

}  // namespace shardnet
