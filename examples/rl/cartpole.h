#pragma once
// The cart-pole of Barto, Sutton & Anderson (1983) with the constants, Euler integration and limits
// of Gym's CartPole-v1: push the cart left or right with 10 N to keep the pole up; +1 per step. The
// episode ends when the pole leans past 12 degrees or the cart leaves [-2.4, 2.4] m (terminated: no
// future reward), or after 500 steps (truncated: a time limit, through which values still bootstrap).
#include <array>
#include <cmath>

#include "core/random.h"

namespace cartpole {

struct Outcome {
  bool terminated = false, truncated = false;
  bool done() const { return terminated || truncated; }
};

class CartPole {
 public:
  static constexpr int kActions = 2;
  static constexpr int kObservations = 4;
  static constexpr int kMaxSteps = 500;

  // Gym's reset: every state variable uniform in [-0.05, 0.05).
  void reset(shardnet::CounterRng& rng) {
    for (double& s : state_) s = rng.uniform(-0.05f, 0.05f);
    steps_ = 0;
  }

  // x, x', theta, theta' as the agent sees them.
  std::array<float, kObservations> observation() const {
    return {static_cast<float>(state_[0]), static_cast<float>(state_[1]), static_cast<float>(state_[2]),
            static_cast<float>(state_[3])};
  }

  // Action 1 pushes right, 0 left; the reward of every step is 1.
  Outcome step(int action) {
    constexpr double kGravity = 9.8, kCartMass = 1.0, kPoleMass = 0.1, kTotalMass = kCartMass + kPoleMass;
    constexpr double kHalfLength = 0.5, kPoleMassLength = kPoleMass * kHalfLength, kForce = 10.0, kTau = 0.02;
    constexpr double kThetaLimit = 12.0 * 2.0 * M_PI / 360.0, kXLimit = 2.4;
    auto& [x, x_dot, theta, theta_dot] = state_;
    const double force = action == 1 ? kForce : -kForce;
    const double cos_theta = std::cos(theta), sin_theta = std::sin(theta);
    const double temp = (force + kPoleMassLength * theta_dot * theta_dot * sin_theta) / kTotalMass;
    const double theta_acc = (kGravity * sin_theta - cos_theta * temp) /
                             (kHalfLength * (4.0 / 3.0 - kPoleMass * cos_theta * cos_theta / kTotalMass));
    const double x_acc = temp - kPoleMassLength * theta_acc * cos_theta / kTotalMass;
    x += kTau * x_dot;
    x_dot += kTau * x_acc;
    theta += kTau * theta_dot;
    theta_dot += kTau * theta_acc;
    ++steps_;
    Outcome out;
    out.terminated = x < -kXLimit || x > kXLimit || theta < -kThetaLimit || theta > kThetaLimit;
    out.truncated = !out.terminated && steps_ >= kMaxSteps;
    return out;
  }

  int steps() const { return steps_; }

 private:
  std::array<double, kObservations> state_{};
  int steps_ = 0;
};

}  // namespace cartpole
