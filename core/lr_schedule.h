#pragma once
// Learning rate as a function of training progress in epochs (fractional: epoch + step / steps).
#include <cstdint>
#include <iosfwd>
#include <string_view>

namespace shardnet {

enum class LrScheduleKind { kConstant, kStep, kExponential, kCosine, kLinear };
std::string_view schedule_name(LrScheduleKind kind);        // "constant", "step", ...
LrScheduleKind parse_schedule_kind(std::string_view name);  // throws std::invalid_argument
std::ostream& operator<<(std::ostream& out, LrScheduleKind kind);
std::istream& operator>>(std::istream& in, LrScheduleKind& kind);  // throws for an unknown name

struct LrSchedule {
  LrScheduleKind kind = LrScheduleKind::kConstant;
  float base = 0.01f;
  float step_epochs = 1.0f;    // step: multiply by gamma every step_epochs epochs
  float gamma = 0.1f;          // step, exponential (base * gamma^epoch)
  float total_epochs = 1.0f;   // cosine, linear: decay from base to 0 over this many epochs
  float warmup_epochs = 0.0f;  // linear warm-up from base/10 to the schedule's value

  float at(double epoch) const;
  // Cosine and linear decay to 0 over the run's epochs.
  bool decays_over_the_run() const { return kind == LrScheduleKind::kCosine || kind == LrScheduleKind::kLinear; }
  // This schedule for a run of `epochs` epochs (cosine and linear decay over all of them).
  LrSchedule for_run(int64_t epochs) const {
    LrSchedule s = *this;
    if (s.decays_over_the_run()) s.total_epochs = static_cast<float>(epochs);
    return s;
  }
  void validate() const;  // throws std::invalid_argument naming the field
};

}  // namespace shardnet
