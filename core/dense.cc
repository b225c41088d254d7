#include "core/dense.h"

#include <algorithm>
#include <cassert>

#include "core/gemm.h"
#include "core/layer_registry.h"
#include "core/sequence.h"

namespace shardnet {

Dense::Dense(std::string name, int64_t outputs, bool bias, InitSpec init, bool per_step)
    : Layer(std::move(name)), outputs_(outputs), has_bias_(bias), per_step_(per_step), init_(init) {
  if (outputs <= 0) throw std::invalid_argument("dense: outputs must be positive");
}

Shape Dense::setup(const Shape& input) {
  if (per_step_ && input.size() != 2) {
    throw ShapeError("dense with per_step = 1 needs a (steps, features) input, got " + shape_string(input));
  }
  inputs_ = per_step_ ? input[1] : shape_numel(input);
  steps_ = per_step_ ? input[0] : 1;
  if (input.empty() || inputs_ <= 0) throw ShapeError("dense needs a non-empty input");
  weight_ = Param::weight(name() + "/weight", {outputs_, inputs_});  // zero until initialize()
  if (has_bias_) bias_ = Param::bias(name() + "/bias", {outputs_});
  if (per_step_) return {steps_, outputs_};
  return {outputs_};
}

void Dense::initialize(uint64_t seed) {
  initialize_weights(weight_.value, init_, inputs_, outputs_, seed);
  if (has_bias_) bias_.value.zero();
}

void Dense::forward(const Tensor& x, Tensor& y, Mode) {
  const int64_t n = x.rows() * steps_;  // rows of the GEMM: samples, or samples x steps
  assert(x.numel() == n * inputs_);
  if (per_step_)
    y.reshape({x.rows(), steps_, outputs_});
  else
    y.reshape({n, outputs_});
  for_each_grain(x.rows(), [&](int64_t first, int64_t count) {
    const int64_t row = first * steps_;
    gemm(false, true, count * steps_, outputs_, inputs_, 1.0f, x.data() + row * inputs_, weight_.value.data(), 0.0f,
         y.data() + row * outputs_);
  });
  if (has_bias_) {
    const float* b = bias_.value.data();
    for (int64_t i = 0; i < n; ++i) {
      float* row = y.data() + i * outputs_;
      for (int64_t j = 0; j < outputs_; ++j) row[j] += b[j];
    }
  }
  if (per_step_ && context_ != nullptr) zero_padding(y, steps_, context_->lengths, name());
}

void Dense::backward(const Tensor& x, const Tensor&, const Tensor& dy_in, Tensor* dx) {
  const Tensor* dy_ptr = &dy_in;
  if (per_step_ && context_ != nullptr && !context_->lengths.empty()) {
    masked_dy_ = dy_in;
    zero_padding(masked_dy_, steps_, context_->lengths, name());
    dy_ptr = &masked_dy_;
  }
  const Tensor& dy = *dy_ptr;
  if (dx != nullptr) dx->reshape(x.shape());
  if (exact()) exact_weight_gradient(x, dy);
  for_each_grain(x.rows(), [&](int64_t first, int64_t count) {
    const int64_t row = first * steps_, rows = count * steps_;
    const float* dy_rows = dy.data() + row * outputs_;
    if (!exact()) {
      gemm(true, false, outputs_, inputs_, rows, 1.0f, dy_rows, x.data() + row * inputs_, 0.0f, weight_.grad.data());
    }
    if (has_bias_) {
      float* db = bias_.grad.data();
      bias_.grad.zero();
      for (int64_t i = 0; i < rows; ++i) {
        const float* g = dy_rows + i * outputs_;
        for (int64_t j = 0; j < outputs_; ++j) db[j] += g[j];
      }
      deposit_grain({&bias_});
    }
    if (dx != nullptr) {
      gemm(false, false, rows, inputs_, outputs_, 1.0f, dy_rows, weight_.value.data(), 0.0f,
           dx->data() + row * inputs_);
    }
  });
}

void Dense::exact_weight_gradient(const Tensor& x, const Tensor& dy) {
  const int64_t panel = std::max<int64_t>(1, kExactPanelValues / inputs_);
  for (int64_t first_output = 0; first_output < outputs_; first_output += panel) {
    const int64_t rows = std::min(panel, outputs_ - first_output);
    float* grad = weight_.grad.data() + first_output * inputs_;
    for_each_grain(x.rows(), [&](int64_t first, int64_t count) {
      const int64_t row = first * steps_;
      gemm(true, false, rows, inputs_, count * steps_, 1.0f, dy.data() + row * outputs_ + first_output, outputs_,
           x.data() + row * inputs_, inputs_, 0.0f, grad, inputs_);
      weight_.grain_sum.add(std::span<const float>(grad, static_cast<size_t>(rows * inputs_)),
                            static_cast<size_t>(first_output * inputs_));
    });
  }
}

std::vector<Param*> Dense::params() {
  if (has_bias_) return {&weight_, &bias_};
  return {&weight_};
}

std::string Dense::describe() const {
  return "outputs=" + std::to_string(outputs_) + (has_bias_ ? "" : " bias=0") + (per_step_ ? " per_step" : "");
}

}  // namespace shardnet

SHARDNET_REGISTER_LAYERS(dense) {
  using namespace shardnet;
  std::vector<OptionSpec> options = {
      int_option("outputs", std::nullopt, 1, kNoLimit, "output features"), bool_option("bias", true, "learn a bias"),
      bool_option("per_step", false, "apply to every step of a (T, D) sequence instead of the flattened input")};
  for (auto& o : weight_init_options()) options.push_back(o);
  registry.add(LayerType{"dense",
                         "fully connected: y = x W^T + b on the flattened input",
                         std::move(options),
                         [](const std::string& name, const LayerOptions& o) {
                           return std::make_unique<Dense>(name, o.integer("outputs"), o.flag("bias"), weight_init(o),
                                                          o.flag("per_step"));
                         },
                         {},
                         ExampleInput{{2, 3}, {{"outputs", "4"}}}});
}
