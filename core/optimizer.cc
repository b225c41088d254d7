#include "core/optimizer.h"

#include <cmath>
#include <functional>
#include <istream>
#include <ostream>
#include <stdexcept>

#include "core/enum_names.h"
#include "core/parallel.h"

namespace shardnet {
namespace {
// The updates are element-wise: large parameters are split over the compute threads (each element
// is computed the same way by whichever thread, so the result does not depend on their number).
void for_each_range(int64_t n, const std::function<void(int64_t, int64_t)>& fn) { parallel_for(n, 1 << 14, fn); }

// The element loops take their constants as parameters, not from a lambda's captures: a store
// through a float pointer may alias a captured float, which kept the compiler from vectorising
// (Adam ran one element at a time, 7.5% of the MNIST CNN's step).
void decay_elements(const float* w, const float* g, float wd, float l1, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = g[i] + wd * w[i] + l1 * static_cast<float>((w[i] > 0.0f) - (w[i] < 0.0f));
}

void sgd_elements(float* w, const float* g, float lr, int64_t n) {
  for (int64_t i = 0; i < n; ++i) w[i] -= lr * g[i];
}

void momentum_elements(float* w, float* v, const float* g, float lr, float mu, bool nesterov, int64_t n) {
  if (nesterov) {
    for (int64_t i = 0; i < n; ++i) {
      v[i] = mu * v[i] + g[i];
      w[i] -= lr * (g[i] + mu * v[i]);
    }
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    v[i] = mu * v[i] + g[i];
    w[i] -= lr * v[i];
  }
}

void adagrad_elements(float* w, float* s, const float* g, float lr, float eps, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    s[i] += g[i] * g[i];
    w[i] -= lr * g[i] / (std::sqrt(s[i]) + eps);
  }
}

void rmsprop_elements(float* w, float* s, const float* g, float lr, float d, float eps, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    s[i] = d * s[i] + (1.0f - d) * g[i] * g[i];
    w[i] -= lr * g[i] / (std::sqrt(s[i]) + eps);
  }
}

void adadelta_elements(float* w, float* s, float* a, const float* g, float lr, float rho, float eps, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    s[i] = rho * s[i] + (1.0f - rho) * g[i] * g[i];
    const float u = std::sqrt(a[i] + eps) / std::sqrt(s[i] + eps) * g[i];
    a[i] = rho * a[i] + (1.0f - rho) * u * u;
    w[i] -= lr * u;
  }
}

// c1, c2: the bias corrections 1 / (1 - beta^t).
void adam_elements(float* w, float* m, float* v, const float* g, float lr, float b1, float b2, float eps, float c1,
                   float c2, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    m[i] = b1 * m[i] + (1.0f - b1) * g[i];
    v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
    w[i] -= lr * (m[i] * c1) / (std::sqrt(v[i] * c2) + eps);
  }
}
}  // namespace

Tensor& Optimizer::slot(Slots& slots, const std::string& name, const Tensor& like) {
  auto it = slots.find(name);
  if (it == slots.end()) {
    it = slots.emplace(name, Tensor(like.shape())).first;
    it->second.zero();
  }
  return it->second;
}

namespace {
constexpr EnumName<OptimizerKind> kOptimizerNames[] = {
    {OptimizerKind::kSgd, "sgd"},           {OptimizerKind::kMomentum, "momentum"},
    {OptimizerKind::kNesterov, "nesterov"}, {OptimizerKind::kAdagrad, "adagrad"},
    {OptimizerKind::kRmsProp, "rmsprop"},   {OptimizerKind::kAdaDelta, "adadelta"},
    {OptimizerKind::kAdam, "adam"}};
}  // namespace

std::string_view optimizer_name(OptimizerKind kind) {
  return enum_name(std::span<const EnumName<OptimizerKind>>(kOptimizerNames), kind);
}
OptimizerKind parse_optimizer_kind(std::string_view name) {
  return parse_enum(std::span<const EnumName<OptimizerKind>>(kOptimizerNames), name, "optimizer");
}
std::ostream& operator<<(std::ostream& out, OptimizerKind kind) { return out << optimizer_name(kind); }
std::istream& operator>>(std::istream& in, OptimizerKind& kind) {
  std::string name;
  if (in >> name) kind = parse_optimizer_kind(name);
  return in;
}

float OptimizerConfig::momentum_or_default() const {
  if (momentum) return *momentum;
  return kind == OptimizerKind::kMomentum || kind == OptimizerKind::kNesterov ? 0.9f : 0.0f;
}

float OptimizerConfig::epsilon_or_default() const {
  if (epsilon) return *epsilon;
  if (kind == OptimizerKind::kAdagrad) return 1e-10f;
  if (kind == OptimizerKind::kAdaDelta) return 1e-6f;
  return 1e-8f;  // adam, rmsprop
}

void OptimizerConfig::validate() const {
  auto check = [](bool ok, const char* message) {
    if (!ok) throw std::invalid_argument(message);
  };
  check(!(weight_decay < 0.0f) && !(l1 < 0.0f), "weight-decay and l1 must be >= 0");
  check(!momentum || (*momentum >= 0.0f && *momentum < 1.0f), "momentum must be in [0, 1)");
  check(!epsilon || *epsilon > 0.0f, "epsilon must be positive");
  check(beta1 >= 0.0f && beta1 < 1.0f && beta2 >= 0.0f && beta2 < 1.0f, "beta1 and beta2 must be in [0, 1)");
  check(rms_decay >= 0.0f && rms_decay < 1.0f, "decay must be in [0, 1)");
  check(rho >= 0.0f && rho < 1.0f, "rho must be in [0, 1)");
}

void Optimizer::step(const std::vector<Param*>& params, float lr) {
  ++step_count_;
  for (Param* p : params) {
    if (p->lr_mult == 0.0f) continue;  // frozen
    const float* g = p->grad.data();
    const float wd = p->decay_mult * config_.weight_decay;
    const float l1 = p->decay_mult * config_.l1;
    if (wd != 0.0f || l1 != 0.0f) {
      decayed_.resize(static_cast<size_t>(p->grad.numel()));
      const float* w = p->value.data();
      float* out = decayed_.data();
      for_each_range(p->grad.numel(), [&](int64_t begin, int64_t end) {
        decay_elements(w + begin, g + begin, wd, l1, end - begin, out + begin);
      });
      g = decayed_.data();
    }
    update(*p, g, state_[p->name], lr * p->lr_mult, step_count_);
  }
}

Sgd::Sgd(const OptimizerConfig& config, bool nesterov)
    : Optimizer(config), momentum_(config.momentum_or_default()), nesterov_(nesterov) {
  if (momentum_ < 0.0f || momentum_ >= 1.0f) throw std::invalid_argument("momentum must be in [0, 1)");
  if (nesterov_ && momentum_ == 0.0f) throw std::invalid_argument("nesterov needs a momentum above 0");
}

void Sgd::update(Param& p, const float* g, Slots& slots, float lr, int64_t) {
  float* w = p.value.data();
  const int64_t n = p.value.numel();
  if (momentum_ == 0.0f) {
    for_each_range(n, [&](int64_t begin, int64_t end) { sgd_elements(w + begin, g + begin, lr, end - begin); });
    return;
  }
  float* v = slot(slots, "momentum", p.value).data();
  for_each_range(n, [&](int64_t begin, int64_t end) {
    momentum_elements(w + begin, v + begin, g + begin, lr, momentum_, nesterov_, end - begin);
  });
}

void Adagrad::update(Param& p, const float* g, Slots& slots, float lr, int64_t) {
  float* w = p.value.data();
  float* s = slot(slots, "sum", p.value).data();
  const float eps = config_.epsilon_or_default();
  for_each_range(p.value.numel(), [&](int64_t begin, int64_t end) {
    adagrad_elements(w + begin, s + begin, g + begin, lr, eps, end - begin);
  });
}

void RmsProp::update(Param& p, const float* g, Slots& slots, float lr, int64_t) {
  float* w = p.value.data();
  float* s = slot(slots, "square_avg", p.value).data();
  const float d = config_.rms_decay, eps = config_.epsilon_or_default();
  for_each_range(p.value.numel(), [&](int64_t begin, int64_t end) {
    rmsprop_elements(w + begin, s + begin, g + begin, lr, d, eps, end - begin);
  });
}

void AdaDelta::update(Param& p, const float* g, Slots& slots, float lr, int64_t) {
  float* w = p.value.data();
  float* s = slot(slots, "square_avg", p.value).data();
  float* a = slot(slots, "acc_delta", p.value).data();
  const float rho = config_.rho, eps = config_.epsilon_or_default();
  for_each_range(p.value.numel(), [&](int64_t begin, int64_t end) {
    adadelta_elements(w + begin, s + begin, a + begin, g + begin, lr, rho, eps, end - begin);
  });
}

void Adam::update(Param& p, const float* g, Slots& slots, float lr, int64_t t) {
  float* w = p.value.data();
  float* m = slot(slots, "m", p.value).data();
  float* v = slot(slots, "v", p.value).data();
  const float b1 = config_.beta1, b2 = config_.beta2, eps = config_.epsilon_or_default();
  const float c1 = 1.0f / (1.0f - static_cast<float>(std::pow(b1, static_cast<double>(t))));
  const float c2 = 1.0f / (1.0f - static_cast<float>(std::pow(b2, static_cast<double>(t))));
  for_each_range(p.value.numel(), [&](int64_t begin, int64_t end) {
    adam_elements(w + begin, m + begin, v + begin, g + begin, lr, b1, b2, eps, c1, c2, end - begin);
  });
}

std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& config) {
  config.validate();
  switch (config.kind) {
    case OptimizerKind::kSgd:
    case OptimizerKind::kMomentum:
      return std::make_unique<Sgd>(config);
    case OptimizerKind::kNesterov:
      return std::make_unique<Sgd>(config, true);
    case OptimizerKind::kAdagrad:
      return std::make_unique<Adagrad>(config);
    case OptimizerKind::kRmsProp:
      return std::make_unique<RmsProp>(config);
    case OptimizerKind::kAdaDelta:
      return std::make_unique<AdaDelta>(config);
    case OptimizerKind::kAdam:
      return std::make_unique<Adam>(config);
  }
  throw std::logic_error("optimizer kind without a class");
}

}  // namespace shardnet
