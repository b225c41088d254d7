#pragma once
// Optimizers update parameters from their gradients. Their state lives in named slots per
// parameter name (not per pointer), so it can be checkpointed and restored into a rebuilt net.
#include <cstdint>
#include <iosfwd>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/layer.h"

namespace shardnet {

enum class OptimizerKind { kSgd, kMomentum, kNesterov, kAdagrad, kRmsProp, kAdaDelta, kAdam };
// "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam".
std::string_view optimizer_name(OptimizerKind kind);
OptimizerKind parse_optimizer_kind(std::string_view name);  // throws std::invalid_argument
// For configuration files and flags; >> throws std::invalid_argument for an unknown name.
std::ostream& operator<<(std::ostream& out, OptimizerKind kind);
std::istream& operator>>(std::istream& in, OptimizerKind& kind);

struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::kSgd;
  std::optional<float> momentum;       // default: 0.9 for momentum and nesterov, 0 for sgd
  float beta1 = 0.9f, beta2 = 0.999f;  // adam
  float rms_decay = 0.9f;              // rmsprop: the moving average's decay (Hinton's 0.9)
  float rho = 0.95f;                   // adadelta
  std::optional<float> epsilon;        // default: 1e-10 adagrad, 1e-6 adadelta, 1e-8 adam, rmsprop
  float weight_decay = 0.0f;           // L2: adds weight_decay * w to the gradient
  float l1 = 0.0f;                     // L1: adds l1 * sign(w) to the gradient
  // Both regularisers are scaled by each parameter's decay_mult (1 for weights, 0 for biases).

  float momentum_or_default() const;
  float epsilon_or_default() const;
  void validate() const;  // throws std::invalid_argument naming the field
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
  std::string type() const override { return std::string(optimizer_name(config_.kind)); }

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

// Throws std::invalid_argument for an invalid configuration.
std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& config);

}  // namespace shardnet
