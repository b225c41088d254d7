#include "core/conv2d.h"

#include <algorithm>
#include <cassert>
#include <type_traits>

#include "core/bf16_matmul.h"
#include "core/cache_size.h"
#include "core/gemm.h"
#include "core/half_float.h"
#include "core/kernel_stats.h"
#include "core/lane_sum.h"
#include "core/layer_registry.h"
#include "core/parallel.h"
#include "core/whitening.h"
#include "core/winograd.h"

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
  geom_ = ConvGeometry{input[0],         input[1],         input[2],      config_.kernel_h, config_.kernel_w,
                       config_.stride_h, config_.stride_w, config_.pad_h, config_.pad_w};
  if (input[1] + 2 * config_.pad_h < config_.kernel_h || input[2] + 2 * config_.pad_w < config_.kernel_w) {
    throw ShapeError("conv kernel " + std::to_string(config_.kernel_h) + "x" + std::to_string(config_.kernel_w) +
                     " is larger than the padded input " + shape_string(input));
  }
  switch (config_.algorithm) {
    case ConvAlgorithm::kGemm:
    case ConvAlgorithm::kOneDnn:  // bf16 mode without bf16 instructions runs the GEMM path
      winograd_ = false;
      break;
    case ConvAlgorithm::kWinograd:
      if (!winograd_applies()) throw ShapeError("conv: algo = winograd needs size = 3, stride = 1 and pad = 1");
      winograd_ = true;
      break;
    case ConvAlgorithm::kAuto:
      winograd_ =
          winograd_applies() && geom_.channels >= kWinogradMinChannels && config_.filters >= kWinogradMinChannels;
      break;
  }
  onednn_ = OneDnnConv(geom_, config_.filters);
  const Shape wshape{config_.filters, geom_.channels, geom_.kernel_h, geom_.kernel_w};
  weight_ = Param::weight(name() + "/weight", wshape);
  if (config_.bias) {
    bias_ = Param::bias(name() + "/bias", {config_.filters});
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
  if (!config_.bias)
    throw std::invalid_argument(name() + ": whiten = 1 needs bias = 1 (the bias removes the patch mean)");
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
}

int64_t Conv2D::images_per_block(int64_t batch) const {
  // Enough images for a GEMM of at least kMinGemmColumns columns, as long as their columns stay in
  // about half of this core's L2 cache (the GEMM streams them in again for each panel of weights).
  // Where one image has enough pixels on its own, a block is one image: its GEMM writes straight
  // into the (filters, pixels) output, with no transpose before or after.
  const int64_t pixels = std::max<int64_t>(geom_.col_cols(), 1);
  const int64_t per_image = geom_.col_rows() * pixels * static_cast<int64_t>(sizeof(float));
  const int64_t fit = std::max<int64_t>(l2_cache_bytes() / 2 / std::max<int64_t>(per_image, 1), 1);
  const int64_t wanted = (kMinGemmColumns + pixels - 1) / pixels;
  return std::clamp<int64_t>(std::min(wanted, fit), 1, std::max<int64_t>(batch, 1));
}

bool Conv2D::winograd_applies() const {
  return geom_.kernel_h == 3 && geom_.kernel_w == 3 && geom_.stride_h == 1 && geom_.stride_w == 1 && geom_.pad_h == 1 &&
         geom_.pad_w == 1;
}

namespace {
// A Winograd block's transform-domain operand: in the scratch tensor, or in bf16 mode its bfloat16 twin.
// `size` elements of an operand in T: in the scratch tensor, or in bf16 mode its bfloat16 twin.
template <typename T>
T* operand_buffer(Tensor& as_float, std::vector<uint16_t>& as_bf16, int64_t size) {
  if constexpr (std::is_same_v<T, float>) {
    as_float.reshape({size});
    return as_float.data();
  } else {
    as_bf16.resize(static_cast<size_t>(size));
    return as_bf16.data();
  }
}

// A Winograd operand (16, rows, ld), laid out as winograd_point_stride says.
template <typename T>
T* winograd_operand(Tensor& as_float, std::vector<uint16_t>& as_bf16, int64_t rows, int64_t ld) {
  return operand_buffer<T>(as_float, as_bf16, winograd_operand_size(rows, ld));
}

// A product of operands in float32 or, in bf16 mode, in bfloat16 (written so by the pass before).
void multiply(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a, const float* b, float beta,
              float* c) {
  gemm(trans_a, trans_b, m, n, k, 1.0f, a, b, beta, c);
}

void multiply(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const uint16_t* a, const uint16_t* b,
              float beta, float* c) {
  gemm_bf16(trans_a, trans_b, m, n, k, 1.0f, a, b, beta, c);
}

// `rows` rows of `row` elements, `images` blocks of them side by side: (images, rows, row) ->
// (rows, images * row), as T.
template <typename T>
void gather_rows(const float* in, int64_t images, int64_t rows, int64_t row, T* out) {
  for (int64_t i = 0; i < images; ++i) {
    for (int64_t r = 0; r < rows; ++r) {
      const float* src = in + (i * rows + r) * row;
      T* dst = out + r * images * row + i * row;
      if constexpr (std::is_same_v<T, float>) {
        std::copy_n(src, row, dst);
      } else {
        to_bf16(src, dst, static_cast<size_t>(row));
      }
    }
  }
}
}  // namespace

void Conv2D::transform_winograd_filters(bool for_input_gradient) {
  const int64_t size = winograd_operand_size(config_.filters, geom_.channels);
  if (gemm_precision() == Precision::kBf16) {
    // Written in bfloat16 by the transform itself, once per forward and backward.
    winograd_filters_bf16_.resize(static_cast<size_t>(size));
    winograd_filter_transform(weight_.value.data(), config_.filters, geom_.channels, for_input_gradient,
                              winograd_filters_bf16_.data());
  } else {
    winograd_filters_.reshape({size});
    winograd_filter_transform(weight_.value.data(), config_.filters, geom_.channels, for_input_gradient,
                              winograd_filters_.data());
  }
}

void Conv2D::winograd_convolve(const float* in, int64_t n, int64_t in_channels, int64_t out_channels, float* out,
                               bool with_bias) {
  if (gemm_precision() == Precision::kBf16) {
    winograd_convolve_as(in, n, in_channels, winograd_filters_bf16_.data(), out_channels, out, with_bias);
  } else {
    winograd_convolve_as(in, n, in_channels, winograd_filters_.data(), out_channels, out, with_bias);
  }
}

template <typename T>
void Conv2D::winograd_convolve_as(const float* in, int64_t n, int64_t in_channels, const T* u, int64_t out_channels,
                                  float* out, bool with_bias) {
  const int64_t h = geom_.height, w = geom_.width, tiles = winograd_tiles(h, w);
  const int64_t per_block = winograd_images_per_block(n);
  const int64_t blocks = (n + per_block - 1) / per_block;
  const int64_t u_stride = winograd_point_stride(out_channels, in_channels);
  scratch(compute_threads() - 1);
  parallel_chunks(blocks, 1, [&](int chunk, int64_t first_block, int64_t last_block) {
    Scratch& s = scratch_[static_cast<size_t>(chunk)];
    for (int64_t b = first_block; b < last_block; ++b) {
      const int64_t first = b * per_block, count = std::min(per_block, n - first), columns = count * tiles;
      const int64_t v_stride = winograd_point_stride(in_channels, columns);
      const int64_t m_stride = winograd_point_stride(out_channels, columns);
      T* v = winograd_operand<T>(s.columns, s.columns_bf16, in_channels, columns);
      float* m = winograd_operand<float>(s.out, s.out_bf16, out_channels, columns);
      winograd_input_transform(in + first * in_channels * h * w, count, in_channels, h, w, v, columns);
      for (int p = 0; p < kWinogradPoints; ++p) {
        multiply(false, false, out_channels, columns, in_channels, u + p * u_stride, v + p * v_stride, 0.0f,
                 m + p * m_stride);
      }
      count_winograd_savings(out_channels, in_channels, count, columns);
      winograd_output_transform(m, count, out_channels, h, w, columns, with_bias ? bias_.value.data() : nullptr,
                                out + first * out_channels * h * w);
    }
  });
}

void Conv2D::count_winograd_savings(int64_t out_channels, int64_t in_channels, int64_t images, int64_t columns) const {
  if (!kernel_stats_enabled()) return;
  const double pairs = 2.0 * static_cast<double>(out_channels) * static_cast<double>(in_channels);
  const double direct = pairs * 9.0 * static_cast<double>(geom_.height * geom_.width * images);
  kernel_stats().flops_saved += direct - pairs * kWinogradPoints * static_cast<double>(columns);
}

bool Conv2D::pointwise() const {
  return geom_.kernel_h == 1 && geom_.kernel_w == 1 && geom_.stride_h == 1 && geom_.stride_w == 1 && geom_.pad_h == 0 &&
         geom_.pad_w == 0;
}

Conv2D::Scratch& Conv2D::scratch(int chunk) {
  if (scratch_.size() < static_cast<size_t>(compute_threads())) scratch_.resize(static_cast<size_t>(compute_threads()));
  return scratch_[static_cast<size_t>(chunk)];
}

template <typename T>
const T* Conv2D::columns_of(const float* x, int64_t first, int64_t count, Scratch& s) const {
  const int64_t image_size = geom_.channels * geom_.height * geom_.width;
  if constexpr (std::is_same_v<T, float>) {
    // A 1x1 convolution's columns of one image are the image itself, (C, H*W).
    if (count == 1 && pointwise()) return x + first * image_size;
  }
  T* columns = operand_buffer<T>(s.columns, s.columns_bf16, geom_.col_rows() * count * geom_.col_cols());
  im2col_batch(geom_, x + first * image_size, count, columns);
  return columns;
}

template <typename T>
const T* Conv2D::weights_as() const {
  if constexpr (std::is_same_v<T, float>) {
    return weight_.value.data();
  } else {
    return weight_bf16_.data();
  }
}

void Conv2D::round_weights_for_bf16() {
  if (winograd_ || gemm_precision() != Precision::kBf16) return;
  weight_bf16_.resize(static_cast<size_t>(weight_.value.numel()));
  to_bf16(weight_.value.data(), weight_bf16_.data(), weight_bf16_.size());
}

void Conv2D::forward(const Tensor& x, Tensor& y, Mode) {
  const int64_t n = x.rows(), f = config_.filters, image_size = geom_.channels * geom_.height * geom_.width;
  assert(x.row_size() == image_size);
  y.reshape({n, f, geom_.out_h(), geom_.out_w()});
  const bool onednn = uses_onednn();
  if (onednn) {
    onednn_.clear_weights();
  } else {
    if (winograd_) transform_winograd_filters(false);
    round_weights_for_bf16();
  }
  for_each_grain(n, [&](int64_t first, int64_t count) {
    forward_images(x.data() + first * image_size, count, y.data() + first * y.row_size());
  });
}

bool Conv2D::uses_onednn() const {
  if (gemm_precision() == Precision::kBf16 && bf16_backend() == Bf16Backend::kReference) return false;
  switch (config_.algorithm) {
    case ConvAlgorithm::kOneDnn:
      return true;
    case ConvAlgorithm::kAuto:
      if (geom_.channels < kOneDnnMinChannels) return false;
      if (gemm_precision() == Precision::kBf16) return cpu_has_amx_bf16();
      return !winograd_ && cpu_has_avx512_convolutions();
    default:
      return false;
  }
}

void Conv2D::forward_images(const float* x, int64_t n, float* y) {
  if (uses_onednn()) {
    onednn_forward(x, n, y);
  } else if (winograd_) {
    winograd_convolve(x, n, geom_.channels, config_.filters, y, config_.bias);
  } else if (gemm_precision() == Precision::kBf16) {
    forward_blocks<uint16_t>(x, n, y);
  } else {
    forward_blocks<float>(x, n, y);
  }
}

template <typename T>
void Conv2D::forward_blocks(const float* x, int64_t n, float* y) {
  const int64_t f = config_.filters, pixels = geom_.col_cols();
  const int64_t block = images_per_block(n), blocks = (n + block - 1) / block;
  scratch(compute_threads() - 1);
  // Blocks are independent: one per compute thread at a time, each with its own buffers.
  parallel_chunks(blocks, 1, [&](int chunk, int64_t first_block, int64_t last_block) {
    Scratch& s = scratch_[static_cast<size_t>(chunk)];
    for (int64_t b = first_block; b < last_block; ++b) {
      const int64_t first = b * block, count = std::min(block, n - first);
      const T* columns = columns_of<T>(x, first, count, s);
      float* out = y + first * f * pixels;
      if (count == 1) {
        multiply(false, false, f, pixels, geom_.col_rows(), weights_as<T>(), columns, 0.0f, out);
      } else {
        s.out.reshape({f, count * pixels});
        multiply(false, false, f, count * pixels, geom_.col_rows(), weights_as<T>(), columns, 0.0f, s.out.data());
        // (filters, images * pixels) -> (images, filters, pixels).
        for (int64_t i = 0; i < count; ++i) {
          for (int64_t c = 0; c < f; ++c) {
            std::copy_n(s.out.data() + c * count * pixels + i * pixels, pixels, out + (i * f + c) * pixels);
          }
        }
      }
      if (config_.bias) add_bias(out, count);
    }
  });
}

void Conv2D::add_bias(float* out, int64_t images) const {
  const int64_t f = config_.filters, pixels = geom_.col_cols();
  for (int64_t i = 0; i < images; ++i) {
    for (int64_t c = 0; c < f; ++c) {
      float* row = out + (i * f + c) * pixels;
      const float b = bias_.value[c];
      for (int64_t p = 0; p < pixels; ++p) row[p] += b;
    }
  }
}

void Conv2D::bias_gradient(const float* dy, int64_t n) {
  const int64_t f = config_.filters, pixels = geom_.col_cols();
  parallel_for(f, 4,
               [&](int64_t first, int64_t last) { channel_sums(dy, n, f, pixels, first, last, bias_.grad.data()); });
}

void Conv2D::backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) {
  const int64_t n = x.rows(), image_size = geom_.channels * geom_.height * geom_.width;
  if (dx != nullptr) dx->reshape(x.shape());
  if (uses_onednn()) {
    onednn_.clear_weights();
  } else {
    // dL/dx: the same-padded convolution of dy with the rotated, channel-swapped filters.
    if (winograd_ && dx != nullptr) transform_winograd_filters(true);
    round_weights_for_bf16();
  }
  for_each_grain(n, [&](int64_t first, int64_t count) {
    backward_images(x.data() + first * image_size, dy.data() + first * dy.row_size(), count,
                    dx != nullptr ? dx->data() + first * image_size : nullptr);
    deposit_grain(params());
  });
}

void Conv2D::backward_images(const float* x, const float* dy, int64_t n, float* dx) {
  if (config_.bias) bias_gradient(dy, n);
  if (uses_onednn()) {
    onednn_backward(x, dy, n, dx);
  } else if (winograd_) {
    winograd_weight_gradient(x, dy, n);
    if (dx != nullptr) winograd_convolve(dy, n, config_.filters, geom_.channels, dx, false);
  } else if (gemm_precision() == Precision::kBf16) {
    backward_blocks<uint16_t>(x, dy, n, dx);
  } else {
    backward_blocks<float>(x, dy, n, dx);
  }
}

template <typename T>
void Conv2D::backward_blocks(const float* x, const float* dy, int64_t n, float* dx) {
  const int64_t f = config_.filters, pixels = geom_.col_cols();
  const int64_t image_size = geom_.channels * geom_.height * geom_.width;
  const int64_t block = images_per_block(n), blocks = (n + block - 1) / block;
  // col2im adds into dx; a 1x1 convolution's per-image GEMM writes it whole.
  if (dx != nullptr && (!pointwise() || block > 1)) std::fill_n(dx, n * image_size, 0.0f);
  // dW is summed over a fixed number of groups of blocks (whatever the thread count, so the
  // result does not depend on it); the compute threads take whole groups, then the groups' sums
  // are added in order. Group 0 sums into the gradient itself.
  const int64_t groups = prepare_gradient_groups(blocks);
  parallel_chunks(groups, 1, [&](int chunk, int64_t first_group, int64_t last_group) {
    Scratch& s = scratch_[static_cast<size_t>(chunk)];
    for (int64_t g = first_group; g < last_group; ++g) {
      float* grad = group_gradient(g);
      const int64_t group_begin = g * blocks / groups, group_end = (g + 1) * blocks / groups;
      for (int64_t b = group_begin; b < group_end; ++b) {
        const int64_t first = b * block, count = std::min(block, n - first);
        const T* columns = columns_of<T>(x, first, count, s);
        // dy of the block as a (filters, count * pixels) matrix: for one image in float32, dy itself.
        const T* dy_block = nullptr;
        if constexpr (std::is_same_v<T, float>) dy_block = dy + first * f * pixels;
        if (!std::is_same_v<T, float> || count > 1) {
          T* gathered = operand_buffer<T>(s.out, s.out_bf16, f * count * pixels);
          gather_rows(dy + first * f * pixels, count, f, pixels, gathered);
          dy_block = gathered;
        }
        multiply(false, true, f, geom_.col_rows(), count * pixels, dy_block, columns, b == group_begin ? 0.0f : 1.0f,
                 grad);
        if (dx == nullptr) continue;
        if (count == 1 && pointwise()) {
          // dL/dcolumns is dL/dx itself.
          multiply(true, false, geom_.col_rows(), pixels, f, weights_as<T>(), dy_block, 0.0f, dx + first * image_size);
          continue;
        }
        // The float32 columns are free once dW is done: their buffer takes dL/dcolumns.
        s.columns.reshape({geom_.col_rows(), count * pixels});
        multiply(true, false, geom_.col_rows(), count * pixels, f, weights_as<T>(), dy_block, 0.0f, s.columns.data());
        col2im_batch(geom_, s.columns.data(), count, dx + first * image_size);
      }
    }
  });
  add_gradient_groups(groups);
}

int64_t Conv2D::onednn_images_per_call(int64_t n) {
  // kOneDnnCalls calls (fewer for a small batch), from the batch alone, not the thread count.
  const int64_t calls = std::clamp<int64_t>(n, 1, kOneDnnCalls);
  return (n + calls - 1) / calls;
}

void Conv2D::load_onednn_weights(int64_t n, bool for_backward_data) {
  const bool bf16 = gemm_precision() == Precision::kBf16;
  const int64_t per_call = onednn_images_per_call(n);
  onednn_.ensure_weights(weight_.value.data(), per_call, bf16, for_backward_data);
  if (n % per_call != 0) onednn_.ensure_weights(weight_.value.data(), n % per_call, bf16, for_backward_data);
}

void Conv2D::onednn_forward(const float* x, int64_t n, float* y) {
  load_onednn_weights(n, false);
  const bool bf16 = gemm_precision() == Precision::kBf16;
  const int64_t per_call = onednn_images_per_call(n), calls = (n + per_call - 1) / per_call;
  const int64_t in_size = geom_.channels * geom_.height * geom_.width, out_size = config_.filters * geom_.col_cols();
  const float* bias = config_.bias ? bias_.value.data() : nullptr;
  parallel_for(calls, 1, [&](int64_t first_call, int64_t last_call) {
    for (int64_t c = first_call; c < last_call; ++c) {
      const int64_t first = c * per_call, count = std::min(per_call, n - first);
      onednn_.forward(x + first * in_size, count, bf16, bias, y + first * out_size);
    }
  });
}

void Conv2D::onednn_backward(const float* x, const float* dy, int64_t n, float* dx) {
  if (dx != nullptr) load_onednn_weights(n, true);
  const bool bf16 = gemm_precision() == Precision::kBf16;
  const int64_t per_call = onednn_images_per_call(n), calls = (n + per_call - 1) / per_call;
  const int64_t in_size = geom_.channels * geom_.height * geom_.width, out_size = config_.filters * geom_.col_cols();
  // One call per dW group: each writes its group's sum, added in order afterwards.
  const int64_t groups = prepare_gradient_groups(calls);
  parallel_for(calls, 1, [&](int64_t first_call, int64_t last_call) {
    for (int64_t c = first_call; c < last_call; ++c) {
      const int64_t first = c * per_call, count = std::min(per_call, n - first);
      onednn_.backward_weights(x + first * in_size, dy + first * out_size, count, bf16, group_gradient(c));
      if (dx != nullptr) onednn_.backward_data(dy + first * out_size, count, bf16, dx + first * in_size);
    }
  });
  add_gradient_groups(groups);
}

int64_t Conv2D::prepare_gradient_groups(int64_t blocks) {
  const int64_t groups = std::min(blocks, kWeightGradGroups);
  group_grads_.resize(static_cast<size_t>(groups));
  for (int64_t g = 1; g < groups; ++g) group_grads_[static_cast<size_t>(g)].reshape(weight_.grad.shape());
  scratch(compute_threads() - 1);
  return groups;
}

float* Conv2D::group_gradient(int64_t group) {
  return group == 0 ? weight_.grad.data() : group_grads_[static_cast<size_t>(group)].data();
}

void Conv2D::add_gradient_groups(int64_t groups) {
  float* grad = weight_.grad.data();
  const int64_t size = weight_.grad.numel();
  for (int64_t g = 1; g < groups; ++g) {
    const float* part = group_grads_[static_cast<size_t>(g)].data();
    for (int64_t i = 0; i < size; ++i) grad[i] += part[i];
  }
}

void Conv2D::winograd_weight_gradient(const float* x, const float* dy, int64_t n) {
  if (gemm_precision() == Precision::kBf16) {
    winograd_weight_gradient_as<uint16_t>(x, dy, n);
  } else {
    winograd_weight_gradient_as<float>(x, dy, n);
  }
}

template <typename T>
void Conv2D::winograd_weight_gradient_as(const float* x, const float* dy, int64_t n) {
  const int64_t c_n = geom_.channels, f = config_.filters, h = geom_.height, w = geom_.width;
  const int64_t tiles = winograd_tiles(h, w), per_block = winograd_images_per_block(n);
  const int64_t blocks = (n + per_block - 1) / per_block, groups = prepare_gradient_groups(blocks);
  parallel_chunks(groups, 1, [&](int chunk, int64_t first_group, int64_t last_group) {
    Scratch& s = scratch_[static_cast<size_t>(chunk)];
    for (int64_t g = first_group; g < last_group; ++g) {
      // The group's sum stays in the transform domain (16, filters, channels) until its last block.
      s.points.reshape({winograd_operand_size(f, c_n)});
      const int64_t points_stride = winograd_point_stride(f, c_n);
      const int64_t group_begin = g * blocks / groups, group_end = (g + 1) * blocks / groups;
      for (int64_t b = group_begin; b < group_end; ++b) {
        const int64_t first = b * per_block, count = std::min(per_block, n - first), columns = count * tiles;
        T* v = winograd_operand<T>(s.columns, s.columns_bf16, c_n, columns);
        T* dm = winograd_operand<T>(s.out, s.out_bf16, f, columns);
        const int64_t v_stride = winograd_point_stride(c_n, columns), dm_stride = winograd_point_stride(f, columns);
        winograd_input_transform(x + first * c_n * h * w, count, c_n, h, w, v, columns);
        winograd_gradient_transform(dy + first * f * h * w, count, f, h, w, dm, columns);
        for (int p = 0; p < kWinogradPoints; ++p) {
          multiply(false, true, f, c_n, columns, dm + p * dm_stride, v + p * v_stride, b == group_begin ? 0.0f : 1.0f,
                   s.points.data() + p * points_stride);
        }
        count_winograd_savings(f, c_n, count, columns);
      }
      winograd_weight_gradient_output(s.points.data(), f, c_n, group_gradient(g));
    }
  });
  add_gradient_groups(groups);
}

int64_t Conv2D::winograd_images_per_block(int64_t batch) const {
  const int64_t tiles = winograd_tiles(geom_.height, geom_.width);
  return std::clamp<int64_t>((kWinogradMinTiles + tiles - 1) / tiles, 1, std::max<int64_t>(batch, 1));
}

std::vector<Param*> Conv2D::params() {
  if (config_.bias) return {&weight_, &bias_};
  return {&weight_};
}

std::string Conv2D::describe() const {
  return "filters=" + std::to_string(config_.filters) + " size=" + std::to_string(config_.kernel_h) + "x" +
         std::to_string(config_.kernel_w) + " stride=" + std::to_string(config_.stride_h) +
         " pad=" + std::to_string(config_.pad_h);
}

}  // namespace shardnet

SHARDNET_REGISTER_LAYERS(conv2d) {
  using namespace shardnet;
  std::vector<OptionSpec> options = {
      int_option("filters", std::nullopt, 1, kNoLimit, "output channels"),
      int_option("size", 3, 1, kNoLimit, "square kernel size"),
      int_option("stride", 1, 1, kNoLimit, "stride"),
      int_option("pad", 0, 0, kNoLimit, "zero padding on each side"),
      bool_option("bias", true, "learn a bias"),
      bool_option("dirac", false, "start as the identity on the first min(filters, channels) filters"),
      bool_option("whiten", false, "filters from the data's patch covariance (only [augment] before it)"),
      choice_option("algo", {"auto", "gemm", "winograd", "onednn"}, "auto",
                    "im2col GEMM, Winograd F(2x2,3x3) or oneDNN's convolution (auto: oneDNN in bf16 on AMX; "
                    "else Winograd for 3x3 stride 1 pad 1 with >= 32 channels, oneDNN on AVX-512, GEMM)")};
  for (auto& o : weight_init_options()) options.push_back(o);
  registry.add(LayerType{"conv",
                         "2-D convolution on (C, H, W) inputs (im2col + GEMM, Winograd or oneDNN)",
                         std::move(options),
                         [](const std::string& name, const LayerOptions& o) {
                           Conv2DConfig c;
                           c.filters = o.integer("filters");
                           c.kernel_h = c.kernel_w = o.integer("size");
                           c.stride_h = c.stride_w = o.integer("stride");
                           c.pad_h = c.pad_w = o.integer("pad");
                           c.bias = o.flag("bias");
                           c.init = weight_init(o);
                           c.dirac = o.flag("dirac");
                           c.whiten = o.flag("whiten");
                           const std::string& algo = o.choice("algo");
                           c.algorithm = algo == "gemm"       ? ConvAlgorithm::kGemm
                                         : algo == "winograd" ? ConvAlgorithm::kWinograd
                                         : algo == "onednn"   ? ConvAlgorithm::kOneDnn
                                                              : ConvAlgorithm::kAuto;
                           return std::make_unique<Conv2D>(name, c);
                         },
                         {},
                         ExampleInput{{2, 5, 5}, {{"filters", "3"}, {"pad", "1"}}}});
}
