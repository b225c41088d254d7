#pragma once
// Learning rate as a function of training progress in epochs (fractional: epoch + step / steps).
#include <string>

namespace shardnet {

struct LrSchedule {
  std::string kind = "constant";  // constant | step | exponential | cosine | linear
  float base = 0.01f;
  float step_epochs = 1.0f;  // step: multiply by gamma every step_epochs epochs
  float gamma = 0.1f;        // step, exponential (base * gamma^epoch)
  float total_epochs = 1.0f;   // cosine, linear: decay from base to 0 over this many epochs
  float warmup_epochs = 0.0f;  // linear warm-up from base/10 to the schedule's value

  float at(double epoch) const;
  void validate() const;  // throws std::invalid_argument
};

}  // namespace shardnet
