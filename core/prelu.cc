#include "core/prelu.h"

#include <stdexcept>

#include "core/layer_registry.h"

namespace shardnet {

PReLU::PReLU(std::string name, bool per_channel, float initial_slope)
    : Layer(std::move(name)), per_channel_(per_channel), initial_slope_(initial_slope) {}

Shape PReLU::setup(const Shape& input) {
  if (input.empty()) throw ShapeError("prelu needs an input with at least one dimension");
  channels_ = per_channel_ ? input[0] : 1;
  inner_ = shape_numel(input) / channels_;
  slope_ = Param::bias(name() + "/weight", {channels_});  // PyTorch's name; not decayed
  slope_.value.fill(initial_slope_);
  return input;
}

void PReLU::initialize(uint64_t) { slope_.value.fill(initial_slope_); }

void PReLU::forward(const Tensor& x, Tensor& y, Mode) {
  y.reshape(x.shape());
  const float* in = x.data();
  float* out = y.data();
  for (int64_t block = 0; block < x.rows() * channels_; ++block) {
    const float a = slope_.value[block % channels_];
    for (int64_t i = block * inner_; i < (block + 1) * inner_; ++i) out[i] = in[i] > 0.0f ? in[i] : a * in[i];
  }
}

void PReLU::backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) {
  if (dx != nullptr) dx->reshape(x.shape());
  const float* in = x.data();
  const float* g = dy.data();
  for_each_grain(x.rows(), [&](int64_t first, int64_t count) {
    slope_.grad.zero();
    for (int64_t block = first * channels_; block < (first + count) * channels_; ++block) {
      const int64_t c = block % channels_;
      const float a = slope_.value[c];
      double da = 0.0;
      for (int64_t i = block * inner_; i < (block + 1) * inner_; ++i) {
        if (in[i] > 0.0f) {
          if (dx != nullptr) (*dx)[i] = g[i];
        } else {
          if (dx != nullptr) (*dx)[i] = a * g[i];
          da += static_cast<double>(g[i]) * in[i];
        }
      }
      slope_.grad[c] += static_cast<float>(da);
    }
    deposit_grain({&slope_});
  });
}

std::string PReLU::describe() const {
  return (per_channel_ ? "slopes=" + std::to_string(channels_) : std::string("slope shared")) +
         " init=" + std::to_string(initial_slope_);
}

}  // namespace shardnet

SHARDNET_REGISTER_LAYERS(prelu) {
  using namespace shardnet;
  registry.add(
      LayerType{"prelu",
                "x for x > 0, a * x otherwise, with the slope a learned (PyTorch's PReLU)",
                {bool_option("per_channel", true, "one slope per channel (dimension 0) instead of one for all"),
                 float_option("init", 0.25f, 0.0, 1.0, "initial slope")},
                [](const std::string& name, const LayerOptions& o) {
                  return std::make_unique<PReLU>(name, o.flag("per_channel"), o.number("init"));
                },
                {},
                ExampleInput{{3, 2, 2}}});
}
