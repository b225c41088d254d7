#include "core/lr_schedule.h"

#include <cmath>
#include <stdexcept>

namespace shardnet {

float LrSchedule::at(double epoch) const {
  if (kind == "step") return base * static_cast<float>(std::pow(gamma, std::floor(epoch / step_epochs)));
  return base;
}

void LrSchedule::validate() const {
  if (kind != "constant" && kind != "step") {
    throw std::invalid_argument("unknown learning-rate schedule '" + kind + "' (expected constant or step)");
  }
  if (!(base > 0.0f)) throw std::invalid_argument("the learning rate must be positive");
  if (kind == "step" && !(step_epochs > 0.0f)) throw std::invalid_argument("--lr-step must be positive");
}

}  // namespace shardnet
