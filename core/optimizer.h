#pragma once
// Optimizers update parameters from their gradients. Their state lives in named slots per
// parameter name (not per pointer), so it can be checkpointed and restored into a rebuilt net.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/layer.h"

namespace shardnet {

struct OptimizerConfig {
  std::string type = "sgd";   // sgd | adam
  float momentum = 0.0f;      // sgd
  float beta1 = 0.9f, beta2 = 0.999f, epsilon = 1e-8f;  // adam
  float weight_decay = 0.0f;  // L2, added to the gradient of parameters with decay = true
};

class Optimizer {
 public:
  using Slots = std::map<std::string, Tensor>;  // slot name -> tensor, e.g. "m", "v"

  explicit Optimizer(const OptimizerConfig& config) : config_(config) {}
  virtual ~Optimizer() = default;
  virtual std::string type() const = 0;

  // One update of every parameter with learning rate `lr`.
  void step(const std::vector<Param*>& params, float lr);
  int64_t step_count() const { return step_count_; }
  void set_step_count(int64_t n) { step_count_ = n; }
  // param name -> its slots
  std::map<std::string, Slots>& state() { return state_; }
  const OptimizerConfig& config() const { return config_; }

 protected:
  // `g` is the gradient with weight decay already added; `t` counts steps from 1.
  virtual void update(Param& p, const float* g, Slots& slots, float lr, int64_t t) = 0;
  static Tensor& slot(Slots& slots, const std::string& name, const Tensor& like);

  OptimizerConfig config_;

 private:
  int64_t step_count_ = 0;
  std::map<std::string, Slots> state_;
  std::vector<float> decayed_;  // scratch for gradient + weight decay
};

// SGD with optional (heavy-ball) momentum, as torch.optim.SGD: v = mu v + g; p -= lr v.
class Sgd : public Optimizer {
 public:
  using Optimizer::Optimizer;
  std::string type() const override { return "sgd"; }

 protected:
  void update(Param& p, const float* g, Slots& slots, float lr, int64_t t) override;
};

// Adam (Kingma & Ba 2015) with bias correction, as torch.optim.Adam.
class Adam : public Optimizer {
 public:
  using Optimizer::Optimizer;
  std::string type() const override { return "adam"; }

 protected:
  void update(Param& p, const float* g, Slots& slots, float lr, int64_t t) override;
};

// Throws std::invalid_argument for an unknown type.
std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& config);

}  // namespace shardnet
