#include "core/activation.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "core/fast_math.h"
#include "core/layer_registry.h"
#include "core/parallel.h"

namespace shardnet {
namespace {
constexpr int64_t kElementGrain = 1 << 16;  // elements below which a second thread does not pay
}  // namespace

void Activation::forward(const Tensor& x, Tensor& y, Mode) {
  y.reshape(x.shape());
  parallel_for(x.numel(), kElementGrain,
               [&](int64_t first, int64_t last) { apply(x.data() + first, y.data() + first, last - first); });
}

void Activation::backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) {
  if (dx == nullptr) return;
  dx->reshape(x.shape());
  parallel_for(x.numel(), kElementGrain, [&](int64_t first, int64_t last) {
    apply_grad(x.data() + first, y.data() + first, dy.data() + first, dx->data() + first, last - first);
  });
}

void ReLU::apply(const float* x, float* y, int64_t n) const {
  for (int64_t i = 0; i < n; ++i) y[i] = std::max(x[i], 0.0f);
}
void ReLU::apply_grad(const float* x, const float*, const float* dy, float* dx, int64_t n) const {
  for (int64_t i = 0; i < n; ++i) dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
}

void Sigmoid::apply(const float* x, float* y, int64_t n) const {
  for (int64_t i = 0; i < n; ++i) y[i] = 1.0f / (1.0f + std::exp(-x[i]));
}
void Sigmoid::apply_grad(const float*, const float* y, const float* dy, float* dx, int64_t n) const {
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
}

void Tanh::apply(const float* x, float* y, int64_t n) const {
  for (int64_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
}
void Tanh::apply_grad(const float*, const float* y, const float* dy, float* dx, int64_t n) const {
  for (int64_t i = 0; i < n; ++i) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
}

LeakyReLU::LeakyReLU(std::string name, float slope) : Activation(std::move(name)), slope_(slope) {
  if (!(slope >= 0.0f && slope < 1.0f)) throw std::invalid_argument("leaky_relu: slope must be in [0, 1)");
}
void LeakyReLU::apply(const float* x, float* y, int64_t n) const {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : slope_ * x[i];
}
void LeakyReLU::apply_grad(const float* x, const float*, const float* dy, float* dx, int64_t n) const {
  for (int64_t i = 0; i < n; ++i) dx[i] = x[i] > 0.0f ? dy[i] : slope_ * dy[i];
}

ELU::ELU(std::string name, float alpha) : Activation(std::move(name)), alpha_(alpha) {
  if (!(alpha > 0.0f)) throw std::invalid_argument("elu: alpha must be positive");
}
void ELU::apply(const float* x, float* y, int64_t n) const {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : alpha_ * std::expm1(x[i]);
}
void ELU::apply_grad(const float* x, const float* y, const float* dy, float* dx, int64_t n) const {
  for (int64_t i = 0; i < n; ++i) dx[i] = x[i] > 0.0f ? dy[i] : dy[i] * (y[i] + alpha_);
}

void GELU::apply(const float* x, float* y, int64_t n) const {
  for (int64_t i = 0; i < n; ++i) {
    float gauss;
    y[i] = x[i] * fast_normal_cdf(x[i], gauss);
  }
}
void GELU::apply_grad(const float* x, const float*, const float* dy, float* dx, int64_t n) const {
  const float inv_sqrt_2pi = 0.3989422804014327f;
  for (int64_t i = 0; i < n; ++i) {
    float gauss;
    const float cdf = fast_normal_cdf(x[i], gauss);
    dx[i] = dy[i] * (cdf + x[i] * inv_sqrt_2pi * gauss);
  }
}

Scale::Scale(std::string name, float factor) : Activation(std::move(name)), factor_(factor) {
  if (!std::isfinite(factor) || factor == 0.0f) throw std::invalid_argument("scale: factor must be finite and not 0");
}
void Scale::apply(const float* x, float* y, int64_t n) const {
  for (int64_t i = 0; i < n; ++i) y[i] = factor_ * x[i];
}
void Scale::apply_grad(const float*, const float*, const float* dy, float* dx, int64_t n) const {
  for (int64_t i = 0; i < n; ++i) dx[i] = factor_ * dy[i];
}

Shape Softmax::setup(const Shape& input) {
  if (input.size() != 1) throw ShapeError("softmax needs a flat input, got " + shape_string(input));
  return input;
}

void Softmax::forward(const Tensor& x, Tensor& y, Mode) {
  y.reshape(x.shape());
  const int64_t k = x.row_size();
  for (int64_t i = 0; i < x.rows(); ++i) {
    const float* z = x.data() + i * k;
    float* p = y.data() + i * k;
    const float zmax = *std::max_element(z, z + k);
    double sum = 0.0;
    for (int64_t j = 0; j < k; ++j) sum += (p[j] = std::exp(z[j] - zmax));
    const float inv = static_cast<float>(1.0 / sum);
    for (int64_t j = 0; j < k; ++j) p[j] *= inv;
  }
}

// dx = y * (dy - <dy, y>) per sample.
void Softmax::backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) {
  if (dx == nullptr) return;
  dx->reshape(x.shape());
  const int64_t k = x.row_size();
  for (int64_t i = 0; i < x.rows(); ++i) {
    const float* p = y.data() + i * k;
    const float* g = dy.data() + i * k;
    double dot = 0.0;
    for (int64_t j = 0; j < k; ++j) dot += static_cast<double>(g[j]) * p[j];
    for (int64_t j = 0; j < k; ++j) (*dx)[i * k + j] = p[j] * (g[j] - static_cast<float>(dot));
  }
}

void Flatten::forward(const Tensor& x, Tensor& y, Mode) {
  y.reshape({x.rows(), x.row_size()});
  std::copy_n(x.data(), x.numel(), y.data());
}

void Flatten::backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) {
  if (dx == nullptr) return;
  dx->reshape(x.shape());
  std::copy_n(dy.data(), dy.numel(), dx->data());
}

Reshape::Reshape(std::string name, Shape shape) : Layer(std::move(name)), wanted_(std::move(shape)) {
  if (wanted_.empty()) throw std::invalid_argument("reshape: shape is empty");
  if (std::count(wanted_.begin(), wanted_.end(), -1) > 1)
    throw std::invalid_argument("reshape: at most one dimension may be -1");
  for (int64_t d : wanted_)
    if (d == 0 || d < -1) throw std::invalid_argument("reshape: dimensions must be positive (or one -1)");
}

Shape Reshape::setup(const Shape& input) {
  const int64_t values = shape_numel(input);
  int64_t known = 1;
  for (int64_t d : wanted_)
    if (d != -1) known *= d;
  output_ = wanted_;
  auto free = std::find(output_.begin(), output_.end(), -1);
  if (free != output_.end() && known > 0 && values % known == 0) *free = values / known;
  if (free != output_.end() ? values % known != 0 : known != values) {
    throw ShapeError("reshape to " + shape_string(wanted_) + " needs a multiple of " + std::to_string(known) +
                     " values per sample, the input " + shape_string(input) + " has " + std::to_string(values));
  }
  return output_;
}

void Reshape::forward(const Tensor& x, Tensor& y, Mode) {
  y.reshape(batched(x.rows(), output_));
  std::copy_n(x.data(), x.numel(), y.data());
}

void Reshape::backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) {
  if (dx == nullptr) return;
  dx->reshape(x.shape());
  std::copy_n(dy.data(), dy.numel(), dx->data());
}

}  // namespace shardnet

namespace {
template <typename T>
shardnet::LayerType plain_type(std::string name, std::string doc, shardnet::Shape example = {6}) {
  using namespace shardnet;
  return LayerType{std::move(name),
                   std::move(doc),
                   {},
                   [](const std::string& layer_name, const LayerOptions&) { return std::make_unique<T>(layer_name); },
                   {},
                   ExampleInput{std::move(example)}};
}
template <typename T>
shardnet::LayerType one_option_type(std::string name, std::string doc, shardnet::OptionSpec option) {
  using namespace shardnet;
  const std::string key = option.key;
  return LayerType{std::move(name),
                   std::move(doc),
                   {std::move(option)},
                   [key](const std::string& layer_name, const LayerOptions& o) {
                     return std::make_unique<T>(layer_name, o.number(key));
                   },
                   {},
                   ExampleInput{{6}}};
}
}  // namespace

SHARDNET_REGISTER_LAYERS(activation) {
  using namespace shardnet;
  registry.add(plain_type<ReLU>("relu", "max(x, 0)"));
  registry.add(plain_type<Sigmoid>("sigmoid", "1 / (1 + exp(-x))"));
  registry.add(plain_type<Tanh>("tanh", "tanh(x)"));
  registry.add(plain_type<GELU>("gelu", "x * Phi(x) (exact form, erf to 1.5e-7)"));
  registry.add(
      plain_type<Softmax>("softmax", "softmax over each sample's values (for outputs; the losses fuse their own)"));
  registry.add(plain_type<Flatten>("flatten", "reshape each sample to one dimension", {2, 2, 2}));
  registry.add(LayerType{"reshape",
                         "each sample to the given shape of as many values (one dimension may be -1)",
                         {int_list_option("shape", -1, kNoLimit, "per-sample shape, e.g. 16,7,7")},
                         [](const std::string& name, const LayerOptions& o) {
                           return std::make_unique<Reshape>(name, o.integers("shape"));
                         },
                         {},
                         ExampleInput{{12}, {{"shape", "3,-1,2"}}}});
  registry.add(one_option_type<LeakyReLU>("leaky_relu", "x for x > 0, slope * x otherwise",
                                          float_option("slope", 0.01f, 0.0, 1.0, "slope for x < 0")));
  registry.add(one_option_type<ELU>("elu", "x for x > 0, alpha * (exp(x) - 1) otherwise",
                                    float_option("alpha", 1.0f, 0.0, 1e3, "saturation value for x < 0")));
  registry.add(one_option_type<Scale>("scale", "multiply by a constant factor",
                                      float_option("factor", 1.0f, -1e6, 1e6, "the factor")));
}
