#pragma once
// PReLU (He et al. 2015), as torch.nn.PReLU: y = x for x > 0, a * x otherwise, with the slope a
// learned, one per channel (dimension 0 of the per-sample shape: C of (C, H, W), D of (D)) or one
// shared by all. The slopes are not weight-decayed (decay_mult 0), as the paper advises.
#include "core/layer.h"

namespace shardnet {

class PReLU : public Layer {
 public:
  PReLU(std::string name, bool per_channel, float initial_slope);
  std::string type() const override { return "prelu"; }
  Shape setup(const Shape& input) override;
  void initialize(uint64_t seed) override;
  void forward(const Tensor& x, Tensor& y, Mode mode) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
  std::vector<Param*> params() override { return {&slope_}; }
  std::string describe() const override;
  bool per_channel() const { return per_channel_; }

 private:
  bool per_channel_;
  float initial_slope_;
  int64_t channels_ = 1, inner_ = 1;  // per sample: channels_ blocks of inner_ values
  Param slope_;
};

}  // namespace shardnet
