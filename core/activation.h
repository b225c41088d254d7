#pragma once
// Element-wise activations. Each defines its value and its derivative, the latter from the input
// x or the output y, whichever is cheaper.
#include <cmath>

#include "core/layer.h"

namespace shardnet {

class Activation : public Layer {
 public:
  using Layer::Layer;
  Shape setup(const Shape& input) override { return input; }
  void forward(const Tensor& x, Tensor& y, Mode mode) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;

  // y = f(x) over n values.
  virtual void apply(const float* x, float* y, int64_t n) const = 0;
  // dx = dy * f'(x), with y = f(x) at hand.
  virtual void apply_grad(const float* x, const float* y, const float* dy, float* dx, int64_t n) const = 0;
};

class ReLU : public Activation {
 public:
  using Activation::Activation;
  std::string type() const override { return "relu"; }

 protected:
  void apply(const float* x, float* y, int64_t n) const override;
  void apply_grad(const float* x, const float* y, const float* dy, float* dx, int64_t n) const override;
};

class Sigmoid : public Activation {
 public:
  using Activation::Activation;
  std::string type() const override { return "sigmoid"; }

 protected:
  void apply(const float* x, float* y, int64_t n) const override;
  void apply_grad(const float* x, const float* y, const float* dy, float* dx, int64_t n) const override;
};

class Tanh : public Activation {
 public:
  using Activation::Activation;
  std::string type() const override { return "tanh"; }

 protected:
  void apply(const float* x, float* y, int64_t n) const override;
  void apply_grad(const float* x, const float* y, const float* dy, float* dx, int64_t n) const override;
};

// max(x, slope * x)
class LeakyReLU : public Activation {
 public:
  LeakyReLU(std::string name, float slope);
  std::string type() const override { return "leaky_relu"; }
  std::string describe() const override { return "slope=" + std::to_string(slope_); }
  float slope() const { return slope_; }

 protected:
  void apply(const float* x, float* y, int64_t n) const override;
  void apply_grad(const float* x, const float* y, const float* dy, float* dx, int64_t n) const override;

 private:
  float slope_;
};

// x for x > 0, alpha (e^x - 1) otherwise (Clevert et al. 2016).
class ELU : public Activation {
 public:
  ELU(std::string name, float alpha);
  std::string type() const override { return "elu"; }
  std::string describe() const override { return "alpha=" + std::to_string(alpha_); }
  float alpha() const { return alpha_; }

 protected:
  void apply(const float* x, float* y, int64_t n) const override;
  void apply_grad(const float* x, const float* y, const float* dy, float* dx, int64_t n) const override;

 private:
  float alpha_;
};

// x Phi(x), Phi the standard normal CDF (Hendrycks & Gimpel 2016; the exact form, as PyTorch's
// default nn.GELU).
class GELU : public Activation {
 public:
  using Activation::Activation;
  std::string type() const override { return "gelu"; }

 protected:
  void apply(const float* x, float* y, int64_t n) const override;
  void apply_grad(const float* x, const float* y, const float* dy, float* dx, int64_t n) const override;
};

// y = factor * x: a fixed scale, e.g. of the logits (torch's `x * scale`, Caffe's Power layer).
class Scale : public Activation {
 public:
  Scale(std::string name, float factor);
  std::string type() const override { return "scale"; }
  std::string describe() const override { return "factor=" + std::to_string(factor_); }
  float factor() const { return factor_; }

 protected:
  void apply(const float* x, float* y, int64_t n) const override;
  void apply_grad(const float* x, const float* y, const float* dy, float* dx, int64_t n) const override;

 private:
  float factor_;
};

// Softmax over each sample's values, as a layer (for inference outputs; training uses the fused
// softmax_cross_entropy loss).
class Softmax : public Layer {
 public:
  using Layer::Layer;
  std::string type() const override { return "softmax"; }
  Shape setup(const Shape& input) override;
  void forward(const Tensor& x, Tensor& y, Mode mode) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
};

// Reshapes (C, H, W) or any per-sample shape to a flat vector; data is untouched.
class Flatten : public Layer {
 public:
  using Layer::Layer;
  std::string type() const override { return "flatten"; }
  Shape setup(const Shape& input) override { return {shape_numel(input)}; }
  void forward(const Tensor& x, Tensor& y, Mode mode) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
};

// Each sample to a given shape of as many values (PyTorch's view): one dimension may be -1, the
// size that makes the count match. The values keep their order.
class Reshape : public Layer {
 public:
  Reshape(std::string name, Shape shape);
  std::string type() const override { return "reshape"; }
  Shape setup(const Shape& input) override;
  void forward(const Tensor& x, Tensor& y, Mode mode) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
  std::string describe() const override { return "shape=" + shape_string(output_); }

 private:
  Shape wanted_, output_;
};

}  // namespace shardnet
