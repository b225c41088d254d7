#include "core/activation.h"

#include <algorithm>

namespace shardnet {

void Activation::forward(const Tensor& x, Tensor& y, Mode) {
  y.reshape(x.shape());
  apply(x.data(), y.data(), x.numel());
}

void Activation::backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) {
  if (dx == nullptr) return;
  dx->reshape(x.shape());
  apply_grad(x.data(), y.data(), dy.data(), dx->data(), x.numel());
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

void Flatten::forward(const Tensor& x, Tensor& y, Mode) {
  y.reshape({x.rows(), x.row_size()});
  std::copy_n(x.data(), x.numel(), y.data());
}

void Flatten::backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) {
  if (dx == nullptr) return;
  dx->reshape(x.shape());
  std::copy_n(dy.data(), dy.numel(), dx->data());
}

}  // namespace shardnet
