#include "core/dense.h"

#include <cassert>

#include "core/gemm.h"

namespace shardnet {

Dense::Dense(std::string name, int64_t outputs, bool bias, InitSpec init)
    : Layer(std::move(name)), outputs_(outputs), has_bias_(bias), init_(init) {
  if (outputs <= 0) throw std::invalid_argument("dense: outputs must be positive");
}

Shape Dense::setup(const Shape& input) {
  inputs_ = shape_numel(input);
  if (input.empty() || inputs_ <= 0) throw ShapeError("dense needs a non-empty input");
  weight_ = Param{name() + "/weight", Tensor({outputs_, inputs_}), Tensor({outputs_, inputs_}), true};
  weight_.grad.zero();
  if (has_bias_) {
    bias_ = Param{name() + "/bias", Tensor({outputs_}), Tensor({outputs_}), false};
    bias_.value.zero();
    bias_.grad.zero();
  }
  return {outputs_};
}

void Dense::initialize(uint64_t seed) {
  initialize_weights(weight_.value, init_, inputs_, outputs_, seed);
  if (has_bias_) bias_.value.zero();
}

void Dense::forward(const Tensor& x, Tensor& y, Mode) {
  const int64_t n = x.rows();
  assert(x.row_size() == inputs_);
  y.reshape({n, outputs_});
  gemm(false, true, n, outputs_, inputs_, 1.0f, x.data(), weight_.value.data(), 0.0f, y.data());
  if (has_bias_) {
    const float* b = bias_.value.data();
    for (int64_t i = 0; i < n; ++i) {
      float* row = y.data() + i * outputs_;
      for (int64_t j = 0; j < outputs_; ++j) row[j] += b[j];
    }
  }
}

void Dense::backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) {
  const int64_t n = x.rows();
  gemm(true, false, outputs_, inputs_, n, 1.0f, dy.data(), x.data(), 0.0f, weight_.grad.data());
  if (has_bias_) {
    float* db = bias_.grad.data();
    bias_.grad.zero();
    for (int64_t i = 0; i < n; ++i) {
      const float* row = dy.data() + i * outputs_;
      for (int64_t j = 0; j < outputs_; ++j) db[j] += row[j];
    }
  }
  if (dx != nullptr) {
    dx->reshape(x.shape());
    gemm(false, false, n, inputs_, outputs_, 1.0f, dy.data(), weight_.value.data(), 0.0f, dx->data());
  }
}

std::vector<Param*> Dense::params() {
  if (has_bias_) return {&weight_, &bias_};
  return {&weight_};
}

std::string Dense::describe() const {
  return "outputs=" + std::to_string(outputs_) + (has_bias_ ? "" : " bias=0");
}

}  // namespace shardnet
