#include "core/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace shardnet {

float LrSchedule::at(double epoch) const {
  double lr = base;
  if (kind == "step") {
    lr = base * std::pow(gamma, std::floor(epoch / step_epochs));
  } else if (kind == "exponential") {
    lr = base * std::pow(gamma, epoch);
  } else if (kind == "cosine") {
    lr = base * 0.5 * (1.0 + std::cos(M_PI * std::min(epoch / total_epochs, 1.0)));
  } else if (kind == "linear") {
    lr = base * std::max(1.0 - epoch / total_epochs, 0.0);
  }
  if (warmup_epochs > 0.0f && epoch < warmup_epochs) lr *= 0.1 + 0.9 * epoch / warmup_epochs;
  return static_cast<float>(lr);
}

void LrSchedule::validate() const {
  if (kind != "constant" && kind != "step" && kind != "exponential" && kind != "cosine" && kind != "linear") {
    throw std::invalid_argument("unknown learning-rate schedule '" + kind +
                                "' (expected constant, step, exponential, cosine or linear)");
  }
  if (!(base > 0.0f)) throw std::invalid_argument("the learning rate must be positive");
  if (kind == "step" && !(step_epochs > 0.0f)) throw std::invalid_argument("--lr-step must be positive");
  if ((kind == "step" || kind == "exponential") && !(gamma > 0.0f && gamma <= 1.0f)) {
    throw std::invalid_argument("--lr-gamma must be in (0, 1]");
  }
  if ((kind == "cosine" || kind == "linear") && !(total_epochs > 0.0f)) {
    throw std::invalid_argument(kind + " needs a positive epoch count");
  }
  if (warmup_epochs < 0.0f) throw std::invalid_argument("--warmup-epochs must be >= 0");
}

}  // namespace shardnet
