#pragma once
// Fully connected layer: y = x W^T + b, W is (outputs, inputs) as in PyTorch's nn.Linear. Inputs
// of any per-sample shape are treated as flat vectors (as Caffe's InnerProduct does), or, with
// `per_step`, a (steps, features) input is mapped step by step to (steps, outputs), as nn.Linear
// does on a sequence (outputs past a padded sample's length are zero, and get no gradient).
#include "core/init.h"
#include "core/layer.h"

namespace shardnet {

class Dense : public Layer {
 public:
  Dense(std::string name, int64_t outputs, bool bias = true, InitSpec init = {}, bool per_step = false);
  std::string type() const override { return "dense"; }
  Shape setup(const Shape& input) override;
  void initialize(uint64_t seed) override;
  void forward(const Tensor& x, Tensor& y, Mode mode) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
  std::vector<Param*> params() override;
  std::string describe() const override;

  Param& weight() { return weight_; }
  bool has_bias() const { return has_bias_; }
  // Applied to each step of (T, D) inputs (y is (T, outputs)) rather than to the flattened input.
  bool per_step() const { return per_step_; }
  Param& bias() { return bias_; }

 private:
  // Exact mode: each grain's weight gradient into its exact sum, a panel of output rows at a time
  // through all grains, so that the panel's sums (16 bytes a value) stay in cache between grains.
  void exact_weight_gradient(const Tensor& x, const Tensor& dy);
  static constexpr int64_t kExactPanelValues = 1 << 14;

  int64_t inputs_ = 0, outputs_, steps_ = 1;
  bool has_bias_, per_step_;
  Tensor masked_dy_;
  InitSpec init_;
  Param weight_, bias_;
};

}  // namespace shardnet
