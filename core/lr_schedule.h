#pragma once
// Learning rate as a function of the epoch (fractional: step / steps_per_epoch).
#include <string>

namespace shardnet {

struct LrSchedule {
  std::string kind = "constant";  // constant | step
  float base = 0.01f;
  float step_epochs = 1.0f;  // step: multiply by gamma every step_epochs epochs
  float gamma = 0.1f;

  float at(double epoch) const;
  void validate() const;  // throws std::invalid_argument
};

}  // namespace shardnet
