#include "core/upsample.h"

#include <cmath>

#include "core/layer_registry.h"
#include "core/parallel.h"

namespace shardnet {

BilinearTap bilinear_tap(int64_t o, int64_t out_size, int64_t in_size) {
  const double src = std::max(
      (static_cast<double>(o) + 0.5) * static_cast<double>(in_size) / static_cast<double>(out_size) - 0.5, 0.0);
  BilinearTap t;
  t.low = std::min(static_cast<int64_t>(src), in_size - 1);
  t.high = std::min(t.low + 1, in_size - 1);
  t.frac = static_cast<float>(src - static_cast<double>(t.low));
  return t;
}

Upsample::Upsample(std::string name, int64_t factor, UpsampleMode mode)
    : Layer(std::move(name)), factor_(factor), mode_(mode) {
  if (factor_ < 1) throw std::invalid_argument("upsample: factor must be at least 1");
}

Shape Upsample::setup(const Shape& input) {
  if (input.size() != 3) {
    throw ShapeError("upsample needs a (channels, height, width) input, got " + shape_string(input));
  }
  channels_ = input[0];
  in_h_ = input[1];
  in_w_ = input[2];
  rows_ = taps(in_h_);
  cols_ = taps(in_w_);
  return {channels_, in_h_ * factor_, in_w_ * factor_};
}

std::vector<Upsample::Tap> Upsample::taps(int64_t in_size) const {
  std::vector<Tap> out(static_cast<size_t>(in_size * factor_));
  for (int64_t o = 0; o < in_size * factor_; ++o) {
    Tap& t = out[static_cast<size_t>(o)];
    if (mode_ == UpsampleMode::kNearest) {
      t.low = t.high = o / factor_;
      continue;
    }
    const BilinearTap b = bilinear_tap(o, in_size * factor_, in_size);
    t.low = b.low;
    t.high = b.high;
    t.high_weight = b.frac;
    t.low_weight = 1.0f - b.frac;
  }
  return out;
}

std::string Upsample::describe() const {
  return "factor=" + std::to_string(factor_) + " mode=" + (mode_ == UpsampleMode::kNearest ? "nearest" : "bilinear");
}

void Upsample::forward(const Tensor& x, Tensor& y, Mode) {
  const int64_t out_h = in_h_ * factor_, out_w = in_w_ * factor_;
  y.reshape({x.rows(), channels_, out_h, out_w});
  parallel_for(x.rows() * channels_, 8, [&](int64_t first, int64_t last) {
    for (int64_t p = first; p < last; ++p) {
      const float* in = x.data() + p * in_h_ * in_w_;
      float* out = y.data() + p * out_h * out_w;
      for (int64_t oh = 0; oh < out_h; ++oh) {
        const Tap& r = rows_[static_cast<size_t>(oh)];
        const float* low = in + r.low * in_w_;
        const float* high = in + r.high * in_w_;
        for (int64_t ow = 0; ow < out_w; ++ow) {
          const Tap& c = cols_[static_cast<size_t>(ow)];
          const float top = c.low_weight * low[c.low] + c.high_weight * low[c.high];
          const float bottom = c.low_weight * high[c.low] + c.high_weight * high[c.high];
          out[oh * out_w + ow] = r.low_weight * top + r.high_weight * bottom;
        }
      }
    }
  });
}

void Upsample::backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) {
  if (dx == nullptr) return;
  dx->reshape(x.shape());
  dx->zero();
  const int64_t out_h = in_h_ * factor_, out_w = in_w_ * factor_;
  parallel_for(x.rows() * channels_, 8, [&](int64_t first, int64_t last) {
    for (int64_t p = first; p < last; ++p) {
      const float* g = dy.data() + p * out_h * out_w;
      float* d = dx->data() + p * in_h_ * in_w_;
      for (int64_t oh = 0; oh < out_h; ++oh) {
        const Tap& r = rows_[static_cast<size_t>(oh)];
        float* low = d + r.low * in_w_;
        float* high = d + r.high * in_w_;
        for (int64_t ow = 0; ow < out_w; ++ow) {
          const Tap& c = cols_[static_cast<size_t>(ow)];
          const float v = g[oh * out_w + ow];
          low[c.low] += r.low_weight * c.low_weight * v;
          low[c.high] += r.low_weight * c.high_weight * v;
          high[c.low] += r.high_weight * c.low_weight * v;
          high[c.high] += r.high_weight * c.high_weight * v;
        }
      }
    }
  });
}

}  // namespace shardnet

SHARDNET_REGISTER_LAYERS(upsample) {
  using namespace shardnet;
  registry.add(LayerType{"upsample",
                         "enlarge (C, H, W) maps by an integer factor: nearest or bilinear (PyTorch's nn.Upsample)",
                         {int_option("factor", 2, 1, 64, "scale factor of height and width"),
                          choice_option("mode", {"nearest", "bilinear"}, "nearest",
                                        "nearest neighbour, or bilinear with align_corners = False")},
                         [](const std::string& name, const LayerOptions& o) {
                           const UpsampleMode mode =
                               o.choice("mode") == "bilinear" ? UpsampleMode::kBilinear : UpsampleMode::kNearest;
                           return std::make_unique<Upsample>(name, o.integer("factor"), mode);
                         },
                         {},
                         ExampleInput{{2, 3, 4}, {{"mode", "bilinear"}, {"factor", "3"}}}});
}
