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
  // sgd | momentum | nesterov | adagrad | rmsprop | adadelta | adam
  std::string type = "sgd";
  float momentum = -1.0f;                 // sgd: 0 by default; momentum, nesterov: 0.9 by default
  float beta1 = 0.9f, beta2 = 0.999f;     // adam
  float decay = 0.9f;                     // rmsprop: the moving average's decay (Hinton's 0.9)
  float rho = 0.95f;                      // adadelta
  float epsilon = -1.0f;                  // < 0: the optimizer's usual value (see kDefaultEpsilon)
  float weight_decay = 0.0f;              // L2: adds weight_decay * w to the gradient
  float l1 = 0.0f;                        // L1: adds l1 * sign(w) to the gradient
  // Both regularisers are scaled by each parameter's decay_mult (1 for weights, 0 for biases).

  float momentum_or_default() const;
  float epsilon_or_default() const;
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
  std::vector<float> decayed_;  // scratch for gradient + regularisation
};

// SGD with optional momentum, as torch.optim.SGD: v = mu v + g; then p -= lr v (heavy ball) or
// p -= lr (g + mu v) (Nesterov, in Sutskever et al.'s reformulation).
class Sgd : public Optimizer {
 public:
  Sgd(const OptimizerConfig& config, bool nesterov = false);
  std::string type() const override { return config_.type; }

 protected:
  void update(Param& p, const float* g, Slots& slots, float lr, int64_t t) override;

 private:
  float momentum_;
  bool nesterov_;
};

// Adagrad (Duchi et al. 2011), as torch.optim.Adagrad: s += g^2; p -= lr g / (sqrt(s) + eps).
class Adagrad : public Optimizer {
 public:
  using Optimizer::Optimizer;
  std::string type() const override { return "adagrad"; }

 protected:
  void update(Param& p, const float* g, Slots& slots, float lr, int64_t t) override;
};

// RMSprop (Hinton), as torch.optim.RMSprop: s = d s + (1 - d) g^2; p -= lr g / (sqrt(s) + eps).
class RmsProp : public Optimizer {
 public:
  using Optimizer::Optimizer;
  std::string type() const override { return "rmsprop"; }

 protected:
  void update(Param& p, const float* g, Slots& slots, float lr, int64_t t) override;
};

// AdaDelta (Zeiler 2012), as torch.optim.Adadelta: s = rho s + (1 - rho) g^2;
// u = sqrt(a + eps) / sqrt(s + eps) g; a = rho a + (1 - rho) u^2; p -= lr u.
class AdaDelta : public Optimizer {
 public:
  using Optimizer::Optimizer;
  std::string type() const override { return "adadelta"; }

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
