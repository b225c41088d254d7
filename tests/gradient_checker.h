#pragma once
// Finite-difference gradient checks (in the spirit of Caffe's GradientChecker). The scalar checked
// is L = sum(y * r) for a fixed random r, so dL/dy = r exercises every output. Inputs and
// parameters are nudged by +-eps one element at a time and the central difference of L (summed in
// double) is compared with what backward() computed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "core/layer.h"
#include "core/loss.h"
#include "core/random.h"

namespace shardnet::testing {

inline Tensor random_tensor(const Shape& shape, uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
  Tensor t(shape);
  CounterRng rng(seed);
  for (float& v : t.span()) v = rng.uniform(lo, hi);
  return t;
}

// Values spread at least `gap` apart (a shuffled grid): max pooling and ReLU have no near-ties or
// near-kinks for a small eps.
inline Tensor distinct_tensor(const Shape& shape, uint64_t seed, float gap = 0.02f) {
  Tensor t(shape);
  const int64_t n = t.numel();
  std::vector<int64_t> order(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  CounterRng rng(seed);
  for (int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[rng.below(static_cast<uint64_t>(i + 1))]);
  for (int64_t i = 0; i < n; ++i) t[i] = (static_cast<float>(order[i]) - static_cast<float>(n) / 2.0f + 0.5f) * gap;
  return t;
}

struct GradientCheckOptions {
  float eps = 1e-3f;
  // |analytic - numeric| <= tolerance * max(|analytic|, |numeric|) + floor: relative, with an
  // absolute floor only at the level of the finite differences' own float noise, the larger of
  // `absolute` and FLT_EPSILON * sum|y * r| / eps (the rounding of the objective, divided by the
  // step). In the small tests here that is 2e-4 to 1e-3: a gradient of 0.004 that should be 0 fails.
  float tolerance = 1e-2f;
  float absolute = 2e-4f;
  int max_checks = 150;     // elements checked per tensor (a spread sample for large tensors)
  bool check_input = true;  // false for inputs that are not differentiable (token ids)
};

namespace detail {
inline std::vector<int64_t> sample_indices(int64_t n, int max_checks, uint64_t seed) {
  std::vector<int64_t> idx;
  if (n <= max_checks) {
    for (int64_t i = 0; i < n; ++i) idx.push_back(i);
  } else {
    CounterRng rng(seed);
    for (int i = 0; i < max_checks; ++i) idx.push_back(static_cast<int64_t>(rng.below(static_cast<uint64_t>(n))));
  }
  return idx;
}

// The floor for an objective whose terms add up to `magnitude` in absolute value.
inline double noise_floor(const GradientCheckOptions& options, double magnitude) {
  return std::max<double>(options.absolute, std::numeric_limits<float>::epsilon() * magnitude / options.eps);
}

inline void expect_close(double analytic, double numeric, const GradientCheckOptions& options, double floor,
                         const std::string& what) {
  const double bound = options.tolerance * std::max(std::abs(analytic), std::abs(numeric)) + floor;
  EXPECT_LE(std::abs(analytic - numeric), bound)
      << what << ": backward gave " << analytic << ", finite differences " << numeric;
}
}  // namespace detail

// Checks dL/dx and dL/dparams of `layer` (already set up) at input `x`.
inline void check_layer_gradients(Layer& layer, Tensor x, Mode mode = Mode::kTrain,
                                  const GradientCheckOptions& options = {}) {
  Tensor y;
  layer.forward(x, y, mode);
  const Tensor r = random_tensor(y.shape(), 0xd1ce);
  auto objective = [&]() {
    Tensor out;
    layer.forward(x, out, mode);
    double s = 0.0;
    for (int64_t i = 0; i < out.numel(); ++i) s += static_cast<double>(out[i]) * r[i];
    return s;
  };
  layer.forward(x, y, mode);
  double magnitude = 0.0;
  for (int64_t i = 0; i < y.numel(); ++i) magnitude += std::abs(static_cast<double>(y[i]) * r[i]);
  const double floor = detail::noise_floor(options, magnitude);
  Tensor dx;
  layer.backward(x, y, r, &dx);
  ASSERT_EQ(dx.shape(), x.shape()) << layer.type() << ": dx has the wrong shape";
  // Copy the analytic parameter gradients before forward passes can disturb any cache.
  std::vector<Tensor> param_grads;
  for (Param* p : layer.params()) param_grads.push_back(p->grad);

  auto numeric = [&](float& v) {
    const float saved = v;
    v = saved + options.eps;
    const double plus = objective();
    v = saved - options.eps;
    const double minus = objective();
    v = saved;
    return (plus - minus) / (2.0 * static_cast<double>(options.eps));
  };
  for (int64_t i : detail::sample_indices(options.check_input ? x.numel() : 0, options.max_checks, 1)) {
    detail::expect_close(dx[i], numeric(x[i]), options, floor, layer.type() + " dx[" + std::to_string(i) + "]");
  }
  auto params = layer.params();
  for (size_t k = 0; k < params.size(); ++k) {
    Param& p = *params[k];
    for (int64_t i : detail::sample_indices(p.value.numel(), options.max_checks, 2 + k)) {
      detail::expect_close(param_grads[k][i], numeric(p.value[i]), options, floor,
                           p.name + "[" + std::to_string(i) + "]");
    }
  }
}

// Checks d(scale * loss_sum)/d(output) of `loss` (already set up) at `output`.
inline void check_loss_gradients(Loss& loss, Tensor output, const Batch& batch, float scale,
                                 const GradientCheckOptions& options = {}) {
  const double floor = detail::noise_floor(options, std::abs(loss.forward(output, batch).loss_sum * scale));
  Tensor grad;
  loss.backward(output, batch, scale, grad);
  ASSERT_EQ(grad.shape(), output.shape());
  for (int64_t i : detail::sample_indices(output.numel(), options.max_checks, 3)) {
    const float saved = output[i];
    output[i] = saved + options.eps;
    const double plus = loss.forward(output, batch).loss_sum * scale;
    output[i] = saved - options.eps;
    const double minus = loss.forward(output, batch).loss_sum * scale;
    output[i] = saved;
    detail::expect_close(grad[i], (plus - minus) / (2.0 * options.eps), options, floor,
                         loss.type() + " d_output[" + std::to_string(i) + "]");
  }
}

}  // namespace shardnet::testing
