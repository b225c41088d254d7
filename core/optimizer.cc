#include "core/optimizer.h"

#include <cmath>
#include <stdexcept>

namespace shardnet {

Tensor& Optimizer::slot(Slots& slots, const std::string& name, const Tensor& like) {
  auto it = slots.find(name);
  if (it == slots.end()) {
    it = slots.emplace(name, Tensor(like.shape())).first;
    it->second.zero();
  }
  return it->second;
}

void Optimizer::step(const std::vector<Param*>& params, float lr) {
  ++step_count_;
  for (Param* p : params) {
    const float* g = p->grad.data();
    const float wd = p->decay ? config_.weight_decay : 0.0f;
    if (wd != 0.0f) {
      decayed_.resize(static_cast<size_t>(p->grad.numel()));
      for (int64_t i = 0; i < p->grad.numel(); ++i) decayed_[i] = g[i] + wd * p->value[i];
      g = decayed_.data();
    }
    update(*p, g, state_[p->name], lr, step_count_);
  }
}

void Sgd::update(Param& p, const float* g, Slots& slots, float lr, int64_t) {
  float* w = p.value.data();
  const int64_t n = p.value.numel();
  if (config_.momentum == 0.0f) {
    for (int64_t i = 0; i < n; ++i) w[i] -= lr * g[i];
    return;
  }
  float* v = slot(slots, "momentum", p.value).data();
  const float mu = config_.momentum;
  for (int64_t i = 0; i < n; ++i) {
    v[i] = mu * v[i] + g[i];
    w[i] -= lr * v[i];
  }
}

void Adam::update(Param& p, const float* g, Slots& slots, float lr, int64_t t) {
  float* w = p.value.data();
  float* m = slot(slots, "m", p.value).data();
  float* v = slot(slots, "v", p.value).data();
  const float b1 = config_.beta1, b2 = config_.beta2, eps = config_.epsilon;
  const float c1 = 1.0f / (1.0f - static_cast<float>(std::pow(b1, static_cast<double>(t))));
  const float c2 = 1.0f / (1.0f - static_cast<float>(std::pow(b2, static_cast<double>(t))));
  for (int64_t i = 0, n = p.value.numel(); i < n; ++i) {
    m[i] = b1 * m[i] + (1.0f - b1) * g[i];
    v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
    w[i] -= lr * (m[i] * c1) / (std::sqrt(v[i] * c2) + eps);
  }
}

std::unique_ptr<Optimizer> make_optimizer(const OptimizerConfig& config) {
  if (config.type == "sgd") return std::make_unique<Sgd>(config);
  if (config.type == "adam") return std::make_unique<Adam>(config);
  throw std::invalid_argument("unknown optimizer '" + config.type + "' (expected sgd or adam)");
}

}  // namespace shardnet
