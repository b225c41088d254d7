#include "core/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <istream>
#include <ostream>
#include <stdexcept>
#include <string>

#include "core/enum_names.h"

namespace shardnet {
namespace {
constexpr EnumName<LrScheduleKind> kScheduleNames[] = {{LrScheduleKind::kConstant, "constant"},
                                                       {LrScheduleKind::kStep, "step"},
                                                       {LrScheduleKind::kExponential, "exponential"},
                                                       {LrScheduleKind::kCosine, "cosine"},
                                                       {LrScheduleKind::kLinear, "linear"}};
}  // namespace

std::string_view schedule_name(LrScheduleKind kind) {
  return enum_name(std::span<const EnumName<LrScheduleKind>>(kScheduleNames), kind);
}
LrScheduleKind parse_schedule_kind(std::string_view name) {
  return parse_enum(std::span<const EnumName<LrScheduleKind>>(kScheduleNames), name, "learning-rate schedule");
}
std::ostream& operator<<(std::ostream& out, LrScheduleKind kind) { return out << schedule_name(kind); }
std::istream& operator>>(std::istream& in, LrScheduleKind& kind) {
  std::string name;
  if (in >> name) kind = parse_schedule_kind(name);
  return in;
}

float LrSchedule::at(double epoch) const {
  double lr = base;
  switch (kind) {
    case LrScheduleKind::kConstant:
      break;
    case LrScheduleKind::kStep:
      lr = base * std::pow(gamma, std::floor(epoch / step_epochs));
      break;
    case LrScheduleKind::kExponential:
      lr = base * std::pow(gamma, epoch);
      break;
    case LrScheduleKind::kCosine:
      lr = base * 0.5 * (1.0 + std::cos(M_PI * std::min(epoch / total_epochs, 1.0)));
      break;
    case LrScheduleKind::kLinear:
      lr = base * std::max(1.0 - epoch / total_epochs, 0.0);
      break;
  }
  if (warmup_epochs > 0.0f && epoch < warmup_epochs) lr *= 0.1 + 0.9 * epoch / warmup_epochs;
  return static_cast<float>(lr);
}

void LrSchedule::validate() const {
  if (!(base > 0.0f) || !std::isfinite(base)) throw std::invalid_argument("the learning rate (lr) must be positive");
  if (kind == LrScheduleKind::kStep && !(step_epochs > 0.0f)) throw std::invalid_argument("lr-step must be positive");
  if ((kind == LrScheduleKind::kStep || kind == LrScheduleKind::kExponential) && !(gamma > 0.0f && gamma <= 1.0f)) {
    throw std::invalid_argument("lr-gamma must be in (0, 1]");
  }
  if (decays_over_the_run() && !(total_epochs > 0.0f)) {
    throw std::invalid_argument(std::string(schedule_name(kind)) + " needs a positive epoch count");
  }
  if (!(warmup_epochs >= 0.0f)) throw std::invalid_argument("warmup-epochs must be >= 0");
}

}  // namespace shardnet
