#include "core/batchnorm.h"

#include <cassert>
#include <cmath>

#include "core/collective.h"
#include "core/layer_registry.h"
#include "core/parallel.h"

namespace shardnet {

BatchNorm::BatchNorm(std::string name, const BatchNormConfig& config) : Layer(std::move(name)), config_(config) {
  if (!(config.momentum >= 0.0f && config.momentum <= 1.0f))
    throw std::invalid_argument("batchnorm: momentum must be in [0, 1]");
  if (!(config.epsilon > 0.0f)) throw std::invalid_argument("batchnorm: epsilon must be positive");
}

Shape BatchNorm::setup(const Shape& input) {
  if (input.size() == 1) {
    channels_ = input[0];
    spatial_ = 1;
  } else if (input.size() == 3) {
    channels_ = input[0];
    spatial_ = input[1] * input[2];
  } else {
    throw ShapeError("batchnorm needs a flat (features) or (channels, height, width) input, got " +
                     shape_string(input));
  }
  // The scale and shift do not decay.
  gamma_ = Param::bias(name() + "/gamma", {channels_});
  gamma_.value.fill(1.0f);
  beta_ = Param::bias(name() + "/beta", {channels_});
  running_mean_ = Buffer{name() + "/running_mean", Tensor({channels_})};
  running_mean_.value.fill(0.0f);
  running_var_ = Buffer{name() + "/running_var", Tensor({channels_})};
  running_var_.value.fill(1.0f);
  return input;
}

void BatchNorm::reduce(std::vector<double>& values) const {
  if (config_.sync && context_ != nullptr && context_->collective != nullptr) context_->collective->sum(values);
}

namespace {
// sum a[s] and sum a[s] * b(s) over one row, in doubles, in 8 independent lanes: a single running
// sum is one dependent add per element (latency-bound, 4 cycles each); 8 lanes vectorise. The
// order is fixed, so the result does not depend on the thread that computes it.
template <class B>
void add_row_sums(const float* a, B b, int64_t size, double& sum_a, double& sum_ab) {
  constexpr int kLanes = 8;
  if (size < kLanes) {
    // What the lanes below add up for a short row, without their overhead (a flat input's rows
    // are one value each): lane j holds term j alone, and the lanes are added in order.
    for (int64_t s = 0; s < size; ++s) {
      sum_a += a[s];
      sum_ab += static_cast<double>(a[s]) * b(s);
    }
    return;
  }
  double lane_a[kLanes] = {}, lane_ab[kLanes] = {};
  int64_t s = 0;
  for (; s + kLanes <= size; s += kLanes) {
    for (int j = 0; j < kLanes; ++j) {
      lane_a[j] += a[s + j];
      lane_ab[j] += static_cast<double>(a[s + j]) * b(s + j);
    }
  }
  for (int j = 0; s < size; ++s, ++j) {
    lane_a[j] += a[s];
    lane_ab[j] += static_cast<double>(a[s]) * b(s);
  }
  for (int j = 0; j < kLanes; ++j) {
    sum_a += lane_a[j];
    sum_ab += lane_ab[j];
  }
}
}  // namespace

// x-hat is not stored: backward computes it again from x with the same float expression, so the
// values are the ones forward used; a stored copy was one more full write and read per layer.
float BatchNorm::normalized(float x, int64_t c) const {
  return (x - mean_[static_cast<size_t>(c)]) * inv_std_[static_cast<size_t>(c)];
}

template <class Fn>
void BatchNorm::for_each_row(int64_t n, Fn&& fn) const {
  parallel_for(channels_, 1, [&](int64_t first, int64_t last) {
    for (int64_t i = 0; i < n; ++i)
      for (int64_t c = first; c < last; ++c) fn(i, c, (i * channels_ + c) * spatial_);
  });
}

template <class RowA, class RowB>
void BatchNorm::add_channel_sums(RowA row_a, RowB row_b, int64_t n) {
  const int64_t c_n = channels_, s_n = spatial_;
  // Each channel's rows are summed in image order, whichever thread holds it.
  std::vector<double> partial(static_cast<size_t>(2 * c_n), 0.0);
  for_each_row(n, [&](int64_t, int64_t c, int64_t offset) {
    add_row_sums(row_a(c, offset), row_b(c, offset), s_n, partial[c], partial[c_n + c]);
  });
  for (int64_t c = 0; c < 2 * c_n; ++c) sums_[c] += partial[c];
}

template <class RowA, class RowB>
void BatchNorm::exact_channel_sums(RowA row_a, RowB row_b, int64_t n) {
  const int64_t c_n = channels_, s_n = spatial_, width = 2 * c_n;
  per_image_.resize(static_cast<size_t>(n * width));
  for_each_row(n, [&](int64_t i, int64_t c, int64_t offset) {
    double s1 = 0.0, s2 = 0.0;
    add_row_sums(row_a(c, offset), row_b(c, offset), s_n, s1, s2);
    per_image_[i * width + c] = s1;
    per_image_[i * width + c_n + c] = s2;
  });
  exact_.resize(static_cast<size_t>(width + 1));
  for (int64_t i = 0; i < n; ++i) exact_.add(std::span<const double>(per_image_).subspan(i * width, width));
}

void BatchNorm::reduce_exact() {
  if (config_.sync && context_->collective != nullptr) {
    ExactSum* sums[] = {&exact_};
    context_->collective->sum_exact(sums);
  }
  sums_.resize(exact_.size());
  exact_.result(sums_);
}

void BatchNorm::normalize_row(const float* in, float* out, int64_t c) const {
  const auto ch = static_cast<size_t>(c);
  if (last_forward_eval_) {
    const float scale = eval_scale_[ch], shift = eval_shift_[ch];
    for (int64_t s = 0; s < spatial_; ++s) out[s] = in[s] * scale + shift;
    return;
  }
  const float g = gamma_.value[c], b = beta_.value[c], mu = mean_[ch], inv_std = inv_std_[ch];
  for (int64_t s = 0; s < spatial_; ++s) out[s] = g * ((in[s] - mu) * inv_std) + b;
}

const float* BatchNorm::row_gradient(const Tensor& x, const Tensor& y, const Tensor& dy, int64_t c,
                                     int64_t offset) const {
  if (activation_ == nullptr) return dy.data() + offset;
  // Two rows: the activation's loops are vectorised only where their arrays do not overlap.
  thread_local std::vector<float> normalized, gradient;
  normalized.resize(static_cast<size_t>(spatial_));
  gradient.resize(static_cast<size_t>(spatial_));
  normalize_row(x.data() + offset, normalized.data(), c);
  activation_->apply_grad(normalized.data(), y.data() + offset, dy.data() + offset, gradient.data(), spatial_);
  return gradient.data();
}

void BatchNorm::forward(const Tensor& x, Tensor& y, Mode mode) {
  const int64_t n = x.rows(), c_n = channels_, s_n = spatial_;
  y.reshape(x.shape());
  last_forward_eval_ = mode == Mode::kEval;
  // With a fused activation each row is normalised into a buffer of the thread (in L1), then
  // activated into y (not in place: the activation's loops are vectorised only without overlap).
  auto write_row = [&](int64_t offset, int64_t c) {
    if (activation_ == nullptr) return normalize_row(x.data() + offset, y.data() + offset, c);
    thread_local std::vector<float> normalized;
    normalized.resize(static_cast<size_t>(s_n));
    normalize_row(x.data() + offset, normalized.data(), c);
    activation_->apply(normalized.data(), y.data() + offset, s_n);
  };
  if (mode == Mode::kEval) {
    eval_scale_.resize(static_cast<size_t>(c_n));
    eval_shift_.resize(static_cast<size_t>(c_n));
    for (int64_t c = 0; c < c_n; ++c) {
      eval_scale_[c] = gamma_.value[c] / std::sqrt(running_var_.value[c] + config_.epsilon);
      eval_shift_[c] = beta_.value[c] - running_mean_.value[c] * eval_scale_[c];
    }
    for_each_row(n, [&](int64_t, int64_t c, int64_t offset) { write_row(offset, c); });
    return;
  }
  // sums_ = [sum x per channel, sum x^2 per channel, count]
  auto x_row = [&](int64_t, int64_t offset) { return x.data() + offset; };
  auto x_value = [&](int64_t, int64_t offset) { return [p = x.data() + offset](int64_t s) { return p[s]; }; };
  if (exact()) {
    if (!config_.sync) {
      throw std::invalid_argument("batchnorm " + name() +
                                  ": sync = 0 normalises each rank's slice, which changes with the rank count; "
                                  "exact mode needs sync = 1");
    }
    exact_channel_sums(x_row, x_value, n);
    const double count = static_cast<double>(n * s_n);
    exact_.add(std::span<const double>(&count, 1), static_cast<size_t>(2 * c_n));
    reduce_exact();
  } else {
    sums_.assign(static_cast<size_t>(2 * c_n + 1), 0.0);
    add_channel_sums(x_row, x_value, n);
    sums_[2 * c_n] = static_cast<double>(n * s_n);
    reduce(sums_);
  }
  count_ = sums_[2 * c_n];
  // One value per channel (a batch of one feature vector, over all ranks) has no variance: the
  // output would be beta whatever the input. PyTorch refuses it too.
  if (count_ <= 1.0) {
    throw std::invalid_argument("batchnorm " + name() + ": one value per channel in a training batch (" +
                                shape_string(x.shape()) +
                                " over all ranks) has no batch statistics; use a batch of 2 or more");
  }
  mean_.resize(static_cast<size_t>(c_n));
  inv_std_.resize(static_cast<size_t>(c_n));
  const float m = config_.momentum;
  for (int64_t c = 0; c < c_n; ++c) {
    const double mean = sums_[c] / count_;
    const double var = std::max(sums_[c_n + c] / count_ - mean * mean, 0.0);
    inv_std_[c] = static_cast<float>(1.0 / std::sqrt(var + config_.epsilon));
    const auto mu = static_cast<float>(mean);
    mean_[c] = mu;
    const double unbiased = count_ > 1.0 ? var * count_ / (count_ - 1.0) : var;
    running_mean_.value[c] = (1.0f - m) * running_mean_.value[c] + m * mu;
    running_var_.value[c] = (1.0f - m) * running_var_.value[c] + m * static_cast<float>(unbiased);
  }
  for_each_row(n, [&](int64_t, int64_t c, int64_t offset) { write_row(offset, c); });
}

// After an evaluation forward (inspecting a trained net: saliency, Grad-CAM) the layer is the
// affine map y = gamma (x - running mean) / sqrt(running var + eps) + beta.
void BatchNorm::eval_backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) {
  const int64_t n = x.rows(), c_n = channels_, s_n = spatial_;
  if (dx != nullptr) dx->reshape(x.shape());
  std::vector<double> sum_dy(static_cast<size_t>(c_n), 0.0), sum_dy_xhat(static_cast<size_t>(c_n), 0.0);
  std::vector<float> inv_stds(static_cast<size_t>(c_n));
  for (int64_t c = 0; c < c_n; ++c) inv_stds[c] = 1.0f / std::sqrt(running_var_.value[c] + config_.epsilon);
  for_each_row(n, [&](int64_t, int64_t c, int64_t offset) {
    const float inv_std = inv_stds[c];
    const float* in = x.data() + offset;
    const float* g = row_gradient(x, y, dy, c, offset);
    for (int64_t s = 0; s < s_n; ++s) {
      sum_dy[c] += g[s];
      sum_dy_xhat[c] += g[s] * (in[s] - running_mean_.value[c]) * inv_std;
      if (dx != nullptr) dx->data()[offset + s] = g[s] * gamma_.value[c] * inv_std;
    }
  });
  for (int64_t c = 0; c < c_n; ++c) {
    beta_.grad[c] = static_cast<float>(sum_dy[c]);
    gamma_.grad[c] = static_cast<float>(sum_dy_xhat[c]);
  }
}

void BatchNorm::backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) {
  if (last_forward_eval_) return eval_backward(x, y, dy, dx);
  assert(mean_.size() == static_cast<size_t>(channels_));  // backward follows a training-mode forward
  const int64_t n = x.rows(), c_n = channels_, s_n = spatial_;
  // sums_ = [sum dy per channel, sum dy * xhat per channel]: local ones are the parameter gradients
  // (summed over ranks later with all gradients); the reduced ones shape dx.
  auto dy_row = [&](int64_t c, int64_t offset) { return row_gradient(x, y, dy, c, offset); };
  auto xhat_row = [&](int64_t c, int64_t offset) {
    return [this, c, p = x.data() + offset](int64_t s) { return normalized(p[s], c); };
  };
  if (exact()) {
    // Each image's sums are terms of the parameters' exact sums too.
    exact_channel_sums(dy_row, xhat_row, n);
    const std::span<const double> images(per_image_);
    for (int64_t i = 0; i < n; ++i) {
      beta_.grain_sum.add(images.subspan(2 * i * c_n, c_n));
      gamma_.grain_sum.add(images.subspan((2 * i + 1) * c_n, c_n));
    }
    if (dx == nullptr) return;
    reduce_exact();
  } else {
    sums_.assign(static_cast<size_t>(2 * c_n), 0.0);
    add_channel_sums(dy_row, xhat_row, n);
    for (int64_t c = 0; c < c_n; ++c) {
      beta_.grad[c] = static_cast<float>(sums_[c]);
      gamma_.grad[c] = static_cast<float>(sums_[c_n + c]);
    }
    if (dx == nullptr) return;
    reduce(sums_);
  }
  dx->reshape(x.shape());
  struct ChannelTerms {
    float mean_dy, mean_dy_xhat, k;
  };
  std::vector<ChannelTerms> terms(static_cast<size_t>(c_n));
  for (int64_t c = 0; c < c_n; ++c) {
    terms[c] = {static_cast<float>(sums_[c] / count_), static_cast<float>(sums_[c_n + c] / count_),
                gamma_.value[c] * inv_std_[c]};
  }
  for_each_row(n, [&](int64_t, int64_t c, int64_t offset) {
    const auto [mean_dy, mean_dy_xhat, k] = terms[c];
    const float mu = mean_[c], inv_std = inv_std_[c];
    const float* g = row_gradient(x, y, dy, c, offset);
    const float* in = x.data() + offset;
    float* d = dx->data() + offset;
    for (int64_t s = 0; s < s_n; ++s) d[s] = k * (g[s] - mean_dy - ((in[s] - mu) * inv_std) * mean_dy_xhat);
  });
}

std::string BatchNorm::describe() const {
  return "momentum=" + std::to_string(config_.momentum) + (config_.sync ? " sync" : " per-rank");
}

}  // namespace shardnet

SHARDNET_REGISTER_LAYERS(batchnorm) {
  using namespace shardnet;
  registry.add(
      LayerType{"batchnorm",
                "batch normalisation per channel (C, ...) or feature (D), with a learned scale and shift",
                {float_option("momentum", 0.1f, 0.0, 1.0, "weight of the batch in the running statistics (PyTorch's)"),
                 float_option("epsilon", 1e-5f, 0.0, 1.0, "added to the variance"),
                 bool_option("sync", true, "statistics over all ranks' batches (SyncBatchNorm)")},
                [](const std::string& name, const LayerOptions& o) {
                  return std::make_unique<BatchNorm>(
                      name, BatchNormConfig{o.number("momentum"), o.number("epsilon"), o.flag("sync")});
                },
                {},
                ExampleInput{{3, 2, 2}}});
}
