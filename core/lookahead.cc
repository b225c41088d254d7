#include "core/lookahead.h"

#include <algorithm>
#include <cmath>
#include <istream>
#include <ostream>
#include <stdexcept>
#include <string>

#include "core/enum_names.h"

namespace shardnet {
namespace {
constexpr EnumName<LookaheadRamp> kRampNames[] = {{LookaheadRamp::kConstant, "constant"},
                                                  {LookaheadRamp::kCubic, "cubic"}};

// slow += alpha (fast - slow); fast = slow. Constants as parameters, so that the loop vectorises.
void move_and_restart(float* fast, float* slow, int64_t n, float alpha) {
  for (int64_t i = 0; i < n; ++i) {
    const float s = slow[i] + alpha * (fast[i] - slow[i]);
    slow[i] = s;
    fast[i] = s;
  }
}
}  // namespace

std::ostream& operator<<(std::ostream& out, LookaheadRamp value) {
  return out << enum_name(std::span<const EnumName<LookaheadRamp>>(kRampNames), value);
}
std::istream& operator>>(std::istream& in, LookaheadRamp& value) {
  std::string name;
  if (in >> name) value = parse_enum(std::span<const EnumName<LookaheadRamp>>(kRampNames), name, "lookahead ramp");
  return in;
}

float LookaheadConfig::alpha_at(double progress) const {
  if (ramp == LookaheadRamp::kConstant) return alpha;
  const double p = std::clamp(progress, 0.0, 1.0);
  return static_cast<float>(1.0 - (1.0 - alpha) * p * p * p);
}

void LookaheadConfig::validate() const {
  if (every < 0) throw std::invalid_argument("lookahead must be >= 0 steps (0: off)");
  if (!(alpha > 0.0f && alpha <= 1.0f)) throw std::invalid_argument("lookahead-alpha must be in (0, 1]");
}

Lookahead::Lookahead(const LookaheadConfig& config, std::vector<Param*> params, Optimizer& optimizer)
    : config_(config), params_(std::move(params)), optimizer_(optimizer) {
  config_.validate();
}

Tensor& Lookahead::slow(const Param& p) {
  auto& slots = optimizer_.state()[p.name];
  const auto it = slots.find(kLookaheadSlot);
  if (it == slots.end()) throw std::logic_error("lookahead: no slow weights for " + p.name + " (start() first)");
  // A checkpoint's slot has been checked against its parameter's shape when it was read.
  return it->second;
}

void Lookahead::start() {
  if (!config_.enabled()) return;
  for (const Param* p : params_) {
    auto& slots = optimizer_.state()[p->name];
    if (slots.find(kLookaheadSlot) == slots.end()) slots.emplace(kLookaheadSlot, p->value);
  }
}

void Lookahead::after_step(int64_t step_count, int64_t total_steps) {
  if (!config_.enabled() || step_count % config_.every != 0) return;
  const double progress = total_steps > 0 ? static_cast<double>(step_count) / static_cast<double>(total_steps) : 1.0;
  const float alpha = config_.alpha_at(progress);
  for (Param* p : params_) move_and_restart(p->value.data(), slow(*p).data(), p->value.numel(), alpha);
}

void Lookahead::finish() {
  if (!config_.enabled()) return;
  for (Param* p : params_) {
    const Tensor& s = slow(*p);
    std::copy_n(s.data(), s.numel(), p->value.data());
  }
}

}  // namespace shardnet
