#include "core/pooling.h"

#include <algorithm>
#include <limits>

#include "core/layer_registry.h"
#include "core/parallel.h"

namespace shardnet {

Pool2D::Pool2D(std::string name, const PoolConfig& config)
    : Layer(std::move(name)),
      size_(config.size),
      stride_(config.stride > 0 ? config.stride : config.size),
      pad_(config.pad) {
  if (size_ <= 0) throw std::invalid_argument("pool: size must be positive");
  if (pad_ < 0 || pad_ * 2 > size_) throw std::invalid_argument("pool: pad must be in [0, size/2]");
}

Shape Pool2D::setup(const Shape& input) {
  if (input.size() != 3) {
    throw ShapeError(type() + " needs a (channels, height, width) input, got " + shape_string(input));
  }
  channels_ = input[0];
  in_h_ = input[1];
  in_w_ = input[2];
  if (in_h_ + 2 * pad_ < size_ || in_w_ + 2 * pad_ < size_) {
    throw ShapeError(type() + " window " + std::to_string(size_) + " is larger than the input " + shape_string(input));
  }
  out_h_ = (in_h_ + 2 * pad_ - size_) / stride_ + 1;
  out_w_ = (in_w_ + 2 * pad_ - size_) / stride_ + 1;
  return {channels_, out_h_, out_w_};
}

std::string Pool2D::describe() const {
  return "size=" + std::to_string(size_) + " stride=" + std::to_string(stride_) + " pad=" + std::to_string(pad_);
}

void MaxPool::forward(const Tensor& x, Tensor& y, Mode) {
  const int64_t planes = x.rows() * channels_;
  y.reshape({x.rows(), channels_, out_h_, out_w_});
  argmax_.resize(static_cast<size_t>(y.numel()));
  // Planes (image, channel) are independent: split them over the compute threads.
  parallel_for(planes, 8, [&](int64_t first, int64_t last) {
    for (int64_t p = first; p < last; ++p) {
      const float* in = x.data() + p * in_h_ * in_w_;
      float* out = y.data() + p * out_h_ * out_w_;
      int32_t* arg = argmax_.data() + p * out_h_ * out_w_;
      if (tiled_2x2()) {
        forward_plane_2x2(in, out, arg);
        continue;
      }
      for_each_window([&](int64_t o, int64_t h0, int64_t h1, int64_t w0, int64_t w1) {
        float best = -std::numeric_limits<float>::infinity();
        int64_t best_i = h0 * in_w_ + w0;
        for (int64_t h = h0; h < h1; ++h) {
          for (int64_t w = w0; w < w1; ++w) {
            const float v = in[h * in_w_ + w];
            if (v > best) {
              best = v;
              best_i = h * in_w_ + w;
            }
          }
        }
        out[o] = best;
        arg[o] = static_cast<int32_t>(best_i);
      });
    }
  });
}

// The generic loop's rule: the first maximum in row-major order wins (NaN never does). Selects, not
// branches: which of four neighbours wins is a coin toss on feature maps without structure, and the
// branchy loop spent 10 ns per output on mispredictions (CIFAR fast model's second pool: 16.7 ms
// forward against 2.8 for the first, of the same size).
void MaxPool::forward_plane_2x2(const float* in, float* out, int32_t* arg) const {
  for (int64_t oh = 0; oh < out_h_; ++oh) {
    const auto top = static_cast<int32_t>(2 * oh * in_w_), bottom = static_cast<int32_t>(top + in_w_);
    for (int64_t ow = 0; ow < out_w_; ++ow) {
      const int32_t at[4] = {static_cast<int32_t>(top + 2 * ow), static_cast<int32_t>(top + 2 * ow + 1),
                             static_cast<int32_t>(bottom + 2 * ow), static_cast<int32_t>(bottom + 2 * ow + 1)};
      float best = -std::numeric_limits<float>::infinity();
      int32_t best_i = at[0];
      for (const int32_t i : at) {
        const float v = in[i];
        const bool wins = v > best;
        best = wins ? v : best;
        best_i = wins ? i : best_i;
      }
      out[oh * out_w_ + ow] = best;
      arg[oh * out_w_ + ow] = best_i;
    }
  }
}

void MaxPool::backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) {
  if (dx == nullptr) return;
  dx->reshape(x.shape());
  const int64_t planes = x.rows() * channels_;
  const int64_t out_plane = out_h_ * out_w_, in_plane = in_h_ * in_w_;
  // Planes (image, channel) are independent: split them over the compute threads. Each plane is
  // zeroed just before its scatter, while it is in L1 (zeroing the whole dx first cost a pass over
  // memory: the MNIST CNN's dx is 6.4 MB).
  parallel_for(planes, 8, [&](int64_t first, int64_t last) {
    for (int64_t p = first; p < last; ++p) {
      const float* g = dy.data() + p * out_plane;
      const int32_t* arg = argmax_.data() + p * out_plane;
      float* d = dx->data() + p * in_plane;
      std::fill(d, d + in_plane, 0.0f);
      for (int64_t i = 0; i < out_plane; ++i) d[arg[i]] += g[i];
    }
  });
}

void AvgPool::forward(const Tensor& x, Tensor& y, Mode) {
  const int64_t planes = x.rows() * channels_;
  y.reshape({x.rows(), channels_, out_h_, out_w_});
  const float inv_area = 1.0f / static_cast<float>(size_ * size_);
  // Planes (image, channel) are independent: split them over the compute threads.
  parallel_for(planes, 8, [&](int64_t first, int64_t last) {
    for (int64_t p = first; p < last; ++p) {
      const float* in = x.data() + p * in_h_ * in_w_;
      float* out = y.data() + p * out_h_ * out_w_;
      for_each_window([&](int64_t o, int64_t h0, int64_t h1, int64_t w0, int64_t w1) {
        float s = 0.0f;
        for (int64_t h = h0; h < h1; ++h)
          for (int64_t w = w0; w < w1; ++w) s += in[h * in_w_ + w];
        out[o] = s * inv_area;
      });
    }
  });
}

void AvgPool::backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) {
  if (dx == nullptr) return;
  dx->reshape(x.shape());
  const int64_t planes = x.rows() * channels_;
  const float inv_area = 1.0f / static_cast<float>(size_ * size_);
  // As in MaxPool::backward: each plane zeroed just before it is accumulated into.
  parallel_for(planes, 8, [&](int64_t first, int64_t last) {
    for (int64_t p = first; p < last; ++p) {
      const float* g = dy.data() + p * out_h_ * out_w_;
      float* d = dx->data() + p * in_h_ * in_w_;
      std::fill(d, d + in_h_ * in_w_, 0.0f);
      for_each_window([&](int64_t o, int64_t h0, int64_t h1, int64_t w0, int64_t w1) {
        const float v = g[o] * inv_area;
        for (int64_t h = h0; h < h1; ++h)
          for (int64_t w = w0; w < w1; ++w) d[h * in_w_ + w] += v;
      });
    }
  });
}

MaxUnpool::MaxUnpool(std::string name, std::string pool) : Layer(std::move(name)), pool_name_(std::move(pool)) {}

void MaxUnpool::connect(std::span<Layer* const> earlier) {
  for (Layer* layer : earlier) {
    if (layer->name() != pool_name_) continue;
    pool_ = dynamic_cast<const MaxPool*>(layer);
    if (pool_ == nullptr) {
      throw ShapeError("maxunpool: pool = " + pool_name_ + " is a [" + layer->type() + "], not a [maxpool]");
    }
    return;
  }
  std::string names;
  for (Layer* layer : earlier)
    if (layer->type() == "maxpool") names += (names.empty() ? "" : ", ") + layer->name();
  throw ShapeError("maxunpool: no earlier layer is named '" + pool_name_ +
                   "' (earlier maxpools: " + (names.empty() ? "none" : names) + ")");
}

Shape MaxUnpool::setup(const Shape& input) {
  if (pool_ == nullptr) throw ShapeError("maxunpool: not connected to its pool '" + pool_name_ + "'");
  if (input != pool_->output_shape()) {
    throw ShapeError("maxunpool needs the shape " + pool_name_ + " puts out, " + shape_string(pool_->output_shape()) +
                     ", got " + shape_string(input));
  }
  Shape out = pool_->input_shape();
  planes_ = out[0];
  in_plane_ = input[1] * input[2];
  out_plane_ = out[1] * out[2];
  return out;
}

void MaxUnpool::forward(const Tensor& x, Tensor& y, Mode) {
  const std::vector<int32_t>& arg = pool_->argmax();
  if (static_cast<int64_t>(arg.size()) != x.numel()) {
    throw std::logic_error("maxunpool " + name() + ": " + pool_name_ + " did not run on this batch");
  }
  const int64_t n = x.rows();
  y.reshape({n, planes_, out_plane_ / pool_->input_shape()[2], pool_->input_shape()[2]});
  // As in MaxPool::backward: each plane zeroed just before its scatter.
  parallel_for(n * planes_, 8, [&](int64_t first, int64_t last) {
    for (int64_t p = first; p < last; ++p) {
      const float* in = x.data() + p * in_plane_;
      const int32_t* at = arg.data() + p * in_plane_;
      float* out = y.data() + p * out_plane_;
      std::fill(out, out + out_plane_, 0.0f);
      for (int64_t i = 0; i < in_plane_; ++i) out[at[i]] += in[i];
    }
  });
}

void MaxUnpool::backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) {
  if (dx == nullptr) return;
  dx->reshape(x.shape());
  const std::vector<int32_t>& arg = pool_->argmax();
  parallel_for(x.rows() * planes_, 8, [&](int64_t first, int64_t last) {
    for (int64_t p = first; p < last; ++p) {
      const float* g = dy.data() + p * out_plane_;
      const int32_t* at = arg.data() + p * in_plane_;
      float* d = dx->data() + p * in_plane_;
      for (int64_t i = 0; i < in_plane_; ++i) d[i] = g[at[i]];
    }
  });
}

}  // namespace shardnet

namespace {
std::vector<shardnet::OptionSpec> pool_options() {
  using namespace shardnet;
  return {int_option("size", 2, 1, kNoLimit, "square window size"),
          int_option("stride", 0, 0, kNoLimit, "stride (0: the window size)"),
          int_option("pad", 0, 0, kNoLimit, "padding on each side")};
}
shardnet::PoolConfig pool_config(const shardnet::LayerOptions& o) {
  return shardnet::PoolConfig{o.integer("size"), o.integer("stride"), o.integer("pad")};
}
}  // namespace

SHARDNET_REGISTER_LAYERS(pooling) {
  using namespace shardnet;
  registry.add(LayerType{
      "maxpool",
      "max pooling on (C, H, W)",
      pool_options(),
      [](const std::string& name, const LayerOptions& o) { return std::make_unique<MaxPool>(name, pool_config(o)); },
      {},
      ExampleInput{{2, 6, 6}}});
  registry.add(LayerType{
      "avgpool",
      "average pooling on (C, H, W) (padding counts as zeros)",
      pool_options(),
      [](const std::string& name, const LayerOptions& o) { return std::make_unique<AvgPool>(name, pool_config(o)); },
      {},
      ExampleInput{{2, 6, 6}}});
  registry.add(LayerType{
      "maxunpool",
      "max unpooling: values back to the argmax positions of a named earlier maxpool, zeros elsewhere",
      {string_option("pool", std::nullopt, "name of the earlier [maxpool] whose argmax it uses")},
      [](const std::string& name, const LayerOptions& o) { return std::make_unique<MaxUnpool>(name, o.text("pool")); },
      {},
      ExampleInput{{2, 6, 6}, {{"pool", "pool1"}}, 0, "[maxpool] name = pool1 size = 3 stride = 2"}});
}
