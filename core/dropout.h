#pragma once
// Inverted dropout: in training each element is kept with probability 1 - rate and scaled by
// 1 / (1 - rate); evaluation is the identity. The mask of a sample is drawn from a counter-based
// generator keyed by (seed, layer, epoch, sample index), so it does not depend on the rank that
// trains the sample or its position in the batch: dropout nets stay equivalent across rank counts.
#include <vector>

#include "core/layer.h"

namespace shardnet {

class Dropout : public Layer {
 public:
  Dropout(std::string name, float rate);
  std::string type() const override { return "dropout"; }
  Shape setup(const Shape& input) override { return input; }
  void forward(const Tensor& x, Tensor& y, Mode mode) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
  std::string describe() const override { return "rate=" + std::to_string(rate_); }

 private:
  float rate_;
  std::vector<float> mask_;  // 0 or 1 / (1 - rate), per element of the last training batch
};

}  // namespace shardnet
