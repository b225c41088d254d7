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

template <class RowB>
void BatchNorm::add_channel_sums(const float* a, RowB row_b, int64_t n) {
  const int64_t c_n = channels_, s_n = spatial_;
  // Channels are independent: one thread sums a channel over all images, in image order.
  parallel_for(c_n, 1, [&](int64_t first, int64_t last) {
    for (int64_t c = first; c < last; ++c) {
      double s1 = 0.0, s2 = 0.0;
      for (int64_t i = 0; i < n; ++i) {
        const int64_t offset = (i * c_n + c) * s_n;
        add_row_sums(a + offset, row_b(c, offset), s_n, s1, s2);
      }
      sums_[c] += s1;
      sums_[c_n + c] += s2;
    }
  });
}

template <class RowB>
void BatchNorm::exact_channel_sums(const float* a, RowB row_b, int64_t n) {
  const int64_t c_n = channels_, s_n = spatial_, width = 2 * c_n;
  per_image_.resize(static_cast<size_t>(n * width));
  parallel_for(c_n, 1, [&](int64_t first, int64_t last) {
    for (int64_t c = first; c < last; ++c) {
      for (int64_t i = 0; i < n; ++i) {
        const int64_t offset = (i * c_n + c) * s_n;
        double s1 = 0.0, s2 = 0.0;
        add_row_sums(a + offset, row_b(c, offset), s_n, s1, s2);
        per_image_[i * width + c] = s1;
        per_image_[i * width + c_n + c] = s2;
      }
    }
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

void BatchNorm::forward(const Tensor& x, Tensor& y, Mode mode) {
  const int64_t n = x.rows(), c_n = channels_, s_n = spatial_;
  y.reshape(x.shape());
  last_forward_eval_ = mode == Mode::kEval;
  if (mode == Mode::kEval) {
    for (int64_t c = 0; c < c_n; ++c) {
      const float scale = gamma_.value[c] / std::sqrt(running_var_.value[c] + config_.epsilon);
      const float shift = beta_.value[c] - running_mean_.value[c] * scale;
      for (int64_t i = 0; i < n; ++i) {
        const float* in = x.data() + (i * c_n + c) * s_n;
        float* out = y.data() + (i * c_n + c) * s_n;
        for (int64_t s = 0; s < s_n; ++s) out[s] = in[s] * scale + shift;
      }
    }
    return;
  }
  // sums_ = [sum x per channel, sum x^2 per channel, count]
  auto x_row = [&](int64_t, int64_t offset) { return [p = x.data() + offset](int64_t s) { return p[s]; }; };
  if (exact()) {
    if (!config_.sync) {
      throw std::invalid_argument("batchnorm " + name() +
                                  ": sync = 0 normalises each rank's slice, which changes with the rank count; "
                                  "exact mode needs sync = 1");
    }
    exact_channel_sums(x.data(), x_row, n);
    const double count = static_cast<double>(n * s_n);
    exact_.add(std::span<const double>(&count, 1), static_cast<size_t>(2 * c_n));
    reduce_exact();
  } else {
    sums_.assign(static_cast<size_t>(2 * c_n + 1), 0.0);
    add_channel_sums(x.data(), x_row, n);
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
  parallel_for(c_n, 1, [&](int64_t first, int64_t last) {
    for (int64_t c = first; c < last; ++c) {
      const double mean = sums_[c] / count_;
      const double var = std::max(sums_[c_n + c] / count_ - mean * mean, 0.0);
      const float inv_std = static_cast<float>(1.0 / std::sqrt(var + config_.epsilon));
      inv_std_[c] = inv_std;
      const float g = gamma_.value[c], b = beta_.value[c], mu = static_cast<float>(mean);
      mean_[c] = mu;
      for (int64_t i = 0; i < n; ++i) {
        const float* in = x.data() + (i * c_n + c) * s_n;
        float* out = y.data() + (i * c_n + c) * s_n;
        for (int64_t s = 0; s < s_n; ++s) out[s] = g * ((in[s] - mu) * inv_std) + b;
      }
      const double unbiased = count_ > 1.0 ? var * count_ / (count_ - 1.0) : var;
      running_mean_.value[c] = (1.0f - m) * running_mean_.value[c] + m * mu;
      running_var_.value[c] = (1.0f - m) * running_var_.value[c] + m * static_cast<float>(unbiased);
    }
  });
}

// After an evaluation forward (inspecting a trained net: saliency, Grad-CAM) the layer is the
// affine map y = gamma (x - running mean) / sqrt(running var + eps) + beta.
void BatchNorm::eval_backward(const Tensor& x, const Tensor& dy, Tensor* dx) {
  const int64_t n = x.rows(), c_n = channels_, s_n = spatial_;
  if (dx != nullptr) dx->reshape(x.shape());
  for (int64_t c = 0; c < c_n; ++c) {
    const float inv_std = 1.0f / std::sqrt(running_var_.value[c] + config_.epsilon);
    double sum_dy = 0.0, sum_dy_xhat = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      const float* in = x.data() + (i * c_n + c) * s_n;
      const float* g = dy.data() + (i * c_n + c) * s_n;
      for (int64_t s = 0; s < s_n; ++s) {
        sum_dy += g[s];
        sum_dy_xhat += g[s] * (in[s] - running_mean_.value[c]) * inv_std;
        if (dx != nullptr) dx->data()[(i * c_n + c) * s_n + s] = g[s] * gamma_.value[c] * inv_std;
      }
    }
    beta_.grad[c] = static_cast<float>(sum_dy);
    gamma_.grad[c] = static_cast<float>(sum_dy_xhat);
  }
}

void BatchNorm::backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) {
  if (last_forward_eval_) return eval_backward(x, dy, dx);
  assert(mean_.size() == static_cast<size_t>(channels_));  // backward follows a training-mode forward
  const int64_t n = x.rows(), c_n = channels_, s_n = spatial_;
  // sums_ = [sum dy per channel, sum dy * xhat per channel]: local ones are the parameter gradients
  // (summed over ranks later with all gradients); the reduced ones shape dx.
  auto xhat_row = [&](int64_t c, int64_t offset) {
    return [this, c, p = x.data() + offset](int64_t s) { return normalized(p[s], c); };
  };
  if (exact()) {
    // Each image's sums are terms of the parameters' exact sums too.
    exact_channel_sums(dy.data(), xhat_row, n);
    const std::span<const double> images(per_image_);
    for (int64_t i = 0; i < n; ++i) {
      beta_.grain_sum.add(images.subspan(2 * i * c_n, c_n));
      gamma_.grain_sum.add(images.subspan((2 * i + 1) * c_n, c_n));
    }
    if (dx == nullptr) return;
    reduce_exact();
  } else {
    sums_.assign(static_cast<size_t>(2 * c_n), 0.0);
    add_channel_sums(dy.data(), xhat_row, n);
    for (int64_t c = 0; c < c_n; ++c) {
      beta_.grad[c] = static_cast<float>(sums_[c]);
      gamma_.grad[c] = static_cast<float>(sums_[c_n + c]);
    }
    if (dx == nullptr) return;
    reduce(sums_);
  }
  dx->reshape(x.shape());
  parallel_for(c_n, 1, [&](int64_t first, int64_t last) {
    for (int64_t c = first; c < last; ++c) {
      const float mean_dy = static_cast<float>(sums_[c] / count_);
      const float mean_dy_xhat = static_cast<float>(sums_[c_n + c] / count_);
      const float k = gamma_.value[c] * inv_std_[c], mu = mean_[c], inv_std = inv_std_[c];
      for (int64_t i = 0; i < n; ++i) {
        const float* g = dy.data() + (i * c_n + c) * s_n;
        const float* in = x.data() + (i * c_n + c) * s_n;
        float* d = dx->data() + (i * c_n + c) * s_n;
        for (int64_t s = 0; s < s_n; ++s) d[s] = k * (g[s] - mean_dy - ((in[s] - mu) * inv_std) * mean_dy_xhat);
      }
    }
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
