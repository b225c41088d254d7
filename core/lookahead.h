#pragma once
// Lookahead (Zhang, Lucas, Hinton & Ba 2019, "Lookahead Optimizer: k steps forward, 1 step back"):
// slow weights that, every k steps of the inner optimizer, move a fraction alpha of the way to the
// fast (trained) weights, which then restart from them. airbench (Jordan 2024) ramps that fraction
// down over the run (LookaheadRamp::kCubic), so that the end of a short run is an average of its
// last steps. The slow weights live in the optimizer's state (slot "lookahead"), so checkpoints,
// resumes and the broadcast to the ranks carry them with the rest of it.
#include <cstdint>
#include <iosfwd>
#include <vector>

#include "core/layer.h"
#include "core/optimizer.h"

namespace shardnet {

// How alpha, the slow weights' step toward the fast ones, changes over the run.
enum class LookaheadRamp {
  kConstant,  // alpha at every sync (the paper's)
  kCubic,     // 1 - (1 - alpha) * progress^3: 1 (no averaging) at the start, alpha at the end (airbench's)
};
std::ostream& operator<<(std::ostream& out, LookaheadRamp value);  // constant, cubic
std::istream& operator>>(std::istream& in, LookaheadRamp& value);  // throws for an unknown name

struct LookaheadConfig {
  int64_t every = 0;   // k: optimizer steps between syncs (0: off)
  float alpha = 0.5f;  // the slow weights' step toward the fast ones at a sync, in (0, 1]
  LookaheadRamp ramp = LookaheadRamp::kConstant;

  bool enabled() const { return every > 0; }
  // alpha at `progress` (steps done / steps of the run, in [0, 1]).
  float alpha_at(double progress) const;
  void validate() const;  // throws std::invalid_argument naming the field
};

// Where the slow weights of `p` are kept among its optimizer slots.
inline constexpr const char* kLookaheadSlot = "lookahead";

class Lookahead {
 public:
  Lookahead(const LookaheadConfig& config, std::vector<Param*> params, Optimizer& optimizer);
  // Starts the slow weights at the current ones where the optimizer's state has none (a fresh
  // run; a resumed one brings them from its checkpoint).
  void start();
  // After optimizer step `step_count` (counted from 1) of a run of `total_steps`: every k-th step
  // moves the slow weights toward the fast ones and the fast ones to them.
  void after_step(int64_t step_count, int64_t total_steps);
  // The end of training: the weights become the slow weights (the fast steps since the last sync
  // are dropped, as in the paper's evaluation and airbench's last update).
  void finish();

 private:
  Tensor& slow(const Param& p);

  LookaheadConfig config_;
  std::vector<Param*> params_;
  Optimizer& optimizer_;
};

}  // namespace shardnet
