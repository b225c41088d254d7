#include "core/loss.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <stdexcept>

#include "core/layer_registry.h"

namespace shardnet {

namespace {
// Class ids feeding `classes` outputs: throws naming what does not fit.
void check_class_ids(const DataDescription& data, const Shape& output, const std::string& loss) {
  if (!data.class_labels) {
    throw std::invalid_argument("/label holds float targets, but the model ends in " + loss +
                                ", which needs int32 class ids");
  }
  if (data.num_classes > shape_numel(output)) {
    throw std::invalid_argument("has " + std::to_string(data.num_classes) + " classes but the model outputs " +
                                std::to_string(shape_numel(output)));
  }
}

// The checks every class-id loss makes on a batch; returns the label of sample i.
int32_t checked_label(const Batch& batch, int64_t i, int64_t classes, const char* loss) {
  const int32_t label = batch.labels[static_cast<size_t>(i)];
  if (label < 0 || label >= std::max<int64_t>(classes, 2)) {
    throw std::out_of_range(std::string(loss) + ": label " + std::to_string(label) + " is outside the " +
                            std::to_string(std::max<int64_t>(classes, 2)) + " classes the model outputs");
  }
  return label;
}

void check_label_count(const Tensor& output, const Batch& batch, const char* loss) {
  if (static_cast<int64_t>(batch.labels.size()) != output.rows()) {
    throw std::invalid_argument(std::string(loss) + " needs one class id per sample");
  }
}

void check_flat(const Shape& output, const char* loss) {
  if (output.size() != 1) {
    throw ShapeError(std::string(loss) + " needs a flat (classes) input, got " + shape_string(output) +
                     " (add [flatten] and a [dense] layer)");
  }
}
}  // namespace

SoftmaxCrossEntropy::SoftmaxCrossEntropy(float smoothing) : smoothing_(smoothing) {
  if (!(smoothing >= 0.0f && smoothing < 1.0f)) throw std::invalid_argument("smoothing must be in [0, 1)");
}

void SoftmaxCrossEntropy::setup(const Shape& output) {
  check_flat(output, "softmax_cross_entropy");
  classes_ = output[0];
}

LossStats SoftmaxCrossEntropy::forward(const Tensor& output, const Batch& batch) {
  const int64_t n = output.rows(), k = classes_;
  if (static_cast<int64_t>(batch.labels.size()) != n) {
    throw std::invalid_argument("softmax_cross_entropy needs one class id per sample");
  }
  probs_.reshape(output.shape());
  LossStats stats;
  stats.count = n;
  for (int64_t i = 0; i < n; ++i) {
    const float* z = output.data() + i * k;
    float* p = probs_.data() + i * k;
    const int32_t label = batch.labels[i];
    if (label < 0 || label >= k) {
      throw std::out_of_range("label " + std::to_string(label) + " is outside the " + std::to_string(k) +
                              " classes the model outputs");
    }
    const int64_t arg = std::max_element(z, z + k) - z;
    const float zmax = z[arg];
    double sum = 0.0;
    for (int64_t j = 0; j < k; ++j) {
      p[j] = std::exp(z[j] - zmax);
      sum += p[j];
    }
    const float inv = static_cast<float>(1.0 / sum);
    for (int64_t j = 0; j < k; ++j) p[j] *= inv;
    // -sum_j q_j log p_j with q = (1 - e) onehot + e / K, and log p_j = z_j - zmax - log(sum).
    double mean_shifted = 0.0;
    if (smoothing_ > 0.0f) {
      for (int64_t j = 0; j < k; ++j) mean_shifted += z[j] - zmax;
      mean_shifted /= static_cast<double>(k);
    }
    stats.add_loss(std::log(sum) - (1.0 - smoothing_) * (z[label] - zmax) - smoothing_ * mean_shifted);
    stats.correct += arg == label ? 1 : 0;
  }
  return stats;
}

void SoftmaxCrossEntropy::backward(const Tensor& output, const Batch& batch, float scale, Tensor& d_output) {
  const int64_t n = output.rows(), k = classes_;
  assert(probs_.numel() == output.numel());
  d_output.reshape(output.shape());
  for (int64_t i = 0; i < n; ++i) {
    const float* p = probs_.data() + i * k;
    float* d = d_output.data() + i * k;
    const float spread = smoothing_ / static_cast<float>(k);
    for (int64_t j = 0; j < k; ++j) d[j] = scale * (p[j] - spread);
    d[batch.labels[i]] -= scale * (1.0f - smoothing_);
  }
}

void MeanSquaredError::setup(const Shape& output) {
  if (output.empty()) throw ShapeError("mse needs a non-empty input");
}

const Tensor& MeanSquaredError::targets(const Batch& batch) const {
  return target_ == RegressionTarget::kInput ? batch.data : batch.targets;
}

void MeanSquaredError::check_targets(const DataDescription& data, const Shape& output) const {
  if (target_ == RegressionTarget::kLabels) return Loss::check_targets(data, output);
  if (shape_numel(data.sample_shape) != shape_numel(output)) {
    throw std::invalid_argument("/data rows have shape " + shape_string(data.sample_shape) + " but the model outputs " +
                                shape_string(output) + ", which [mse] target = input compares them with");
  }
}

LossStats MeanSquaredError::forward(const Tensor& output, const Batch& batch) {
  const Tensor& target = targets(batch);
  if (target.numel() != output.numel()) {
    throw std::invalid_argument(std::string("mse: ") + (target_ == RegressionTarget::kInput ? "inputs" : "targets") +
                                " have shape " + shape_string(target.shape()) + " but the model outputs " +
                                shape_string(output.shape()));
  }
  const int64_t n = output.rows(), d = output.row_size();
  LossStats stats;
  stats.count = n;
  for (int64_t i = 0; i < n; ++i) {
    double s = 0.0;
    for (int64_t j = 0; j < d; ++j) {
      const double e = output[i * d + j] - target[i * d + j];
      s += e * e;
    }
    stats.add_loss(s / static_cast<double>(d));
  }
  return stats;
}

void MeanSquaredError::backward(const Tensor& output, const Batch& batch, float scale, Tensor& d_output) {
  const Tensor& target = targets(batch);
  const int64_t d = output.row_size();
  d_output.reshape(output.shape());
  const float k = 2.0f * scale / static_cast<float>(d);
  for (int64_t i = 0; i < output.numel(); ++i) d_output[i] = k * (output[i] - target[i]);
}

Huber::Huber(float delta) : delta_(delta) {
  if (!(delta > 0.0f)) throw std::invalid_argument("huber: delta must be > 0");
}

void Huber::setup(const Shape& output) {
  if (output.empty()) throw ShapeError("huber needs a non-empty input");
}

LossStats Huber::forward(const Tensor& output, const Batch& batch) {
  if (batch.targets.numel() != output.numel()) {
    throw std::invalid_argument("huber: targets have shape " + shape_string(batch.targets.shape()) +
                                " but the model outputs " + shape_string(output.shape()));
  }
  const int64_t n = output.rows(), d = output.row_size();
  const double delta = delta_;
  LossStats stats;
  stats.count = n;
  for (int64_t i = 0; i < n; ++i) {
    double s = 0.0;
    for (int64_t j = 0; j < d; ++j) {
      const double e = std::abs(static_cast<double>(output[i * d + j]) - batch.targets[i * d + j]);
      s += e <= delta ? 0.5 * e * e : delta * (e - 0.5 * delta);
    }
    stats.add_loss(s / static_cast<double>(d));
  }
  return stats;
}

void Huber::backward(const Tensor& output, const Batch& batch, float scale, Tensor& d_output) {
  const int64_t d = output.row_size();
  d_output.reshape(output.shape());
  const float k = scale / static_cast<float>(d);
  for (int64_t i = 0; i < output.numel(); ++i) {
    d_output[i] = k * std::clamp(output[i] - batch.targets[i], -delta_, delta_);
  }
}

MulticlassHinge::MulticlassHinge(float margin) : margin_(margin) {
  if (!(margin >= 0.0f)) throw std::invalid_argument("hinge: margin must be >= 0");
}

void MulticlassHinge::setup(const Shape& output) {
  check_flat(output, "hinge");
  if (output[0] < 2) throw ShapeError("hinge needs at least 2 class outputs, got " + shape_string(output));
  classes_ = output[0];
}

void MulticlassHinge::check_targets(const DataDescription& data, const Shape& output) const {
  check_class_ids(data, output, "hinge");
}

LossStats MulticlassHinge::forward(const Tensor& output, const Batch& batch) {
  check_label_count(output, batch, "hinge");
  const int64_t n = output.rows(), k = classes_;
  LossStats stats;
  stats.count = n;
  for (int64_t i = 0; i < n; ++i) {
    const float* z = output.data() + i * k;
    const int32_t label = checked_label(batch, i, k, "hinge");
    double sum = 0.0;
    for (int64_t j = 0; j < k; ++j)
      if (j != label) sum += std::max(0.0f, margin_ - z[label] + z[j]);
    stats.add_loss(sum);
    stats.correct += std::max_element(z, z + k) - z == label ? 1 : 0;
  }
  return stats;
}

void MulticlassHinge::backward(const Tensor& output, const Batch& batch, float scale, Tensor& d_output) {
  const int64_t n = output.rows(), k = classes_;
  d_output.reshape(output.shape());
  for (int64_t i = 0; i < n; ++i) {
    const float* z = output.data() + i * k;
    float* d = d_output.data() + i * k;
    const int32_t label = batch.labels[static_cast<size_t>(i)];
    float violations = 0.0f;
    for (int64_t j = 0; j < k; ++j) {
      const bool active = j != label && margin_ - z[label] + z[j] > 0.0f;
      d[j] = active ? scale : 0.0f;
      violations += active ? 1.0f : 0.0f;
    }
    d[label] = -scale * violations;
  }
}

void PerceptronCriterion::setup(const Shape& output) {
  check_flat(output, "perceptron");
  classes_ = output[0];
}

void PerceptronCriterion::check_targets(const DataDescription& data, const Shape& output) const {
  if (shape_numel(output) == 1 && data.class_labels && data.num_classes <= 2) return;  // the binary form
  check_class_ids(data, output, "perceptron");
}

LossStats PerceptronCriterion::forward(const Tensor& output, const Batch& batch) {
  check_label_count(output, batch, "perceptron");
  const int64_t n = output.rows(), k = classes_;
  LossStats stats;
  stats.count = n;
  for (int64_t i = 0; i < n; ++i) {
    const float* z = output.data() + i * k;
    const int32_t label = checked_label(batch, i, k, "perceptron");
    if (k == 1) {
      const float signed_score = label == 1 ? z[0] : -z[0];
      stats.add_loss(std::max(0.0f, -signed_score));
      stats.correct += signed_score > 0.0f ? 1 : 0;
      continue;
    }
    const int64_t best = std::max_element(z, z + k) - z;
    stats.add_loss(static_cast<double>(z[best]) - z[label]);
    stats.correct += best == label ? 1 : 0;
  }
  return stats;
}

void PerceptronCriterion::backward(const Tensor& output, const Batch& batch, float scale, Tensor& d_output) {
  const int64_t n = output.rows(), k = classes_;
  d_output.reshape(output.shape());
  d_output.zero();
  for (int64_t i = 0; i < n; ++i) {
    const float* z = output.data() + i * k;
    float* d = d_output.data() + i * k;
    const int32_t label = batch.labels[static_cast<size_t>(i)];
    if (k == 1) {
      const float t = label == 1 ? 1.0f : -1.0f;
      if (t * z[0] < 0.0f) d[0] = -scale * t;
      continue;
    }
    const int64_t best = std::max_element(z, z + k) - z;
    if (best == label) continue;
    d[best] += scale;
    d[label] -= scale;
  }
}

void SigmoidCrossEntropy::setup(const Shape& output) {
  if (output.empty()) throw ShapeError("sigmoid_cross_entropy needs a non-empty input");
  outputs_ = shape_numel(output);
}

float SigmoidCrossEntropy::target(const Batch& batch, int64_t i) const {
  if (batch.labels.empty()) return batch.targets[i];
  const int32_t label = batch.labels[static_cast<size_t>(i / outputs_)];
  if (outputs_ > 1) {
    if (label < 0 || label >= outputs_) {
      throw std::out_of_range("sigmoid_cross_entropy: label " + std::to_string(label) + " is outside the " +
                              std::to_string(outputs_) + " outputs");
    }
    return i % outputs_ == label ? 1.0f : 0.0f;
  }
  if (label != 0 && label != 1) {
    throw std::out_of_range("sigmoid_cross_entropy: label " + std::to_string(label) + " is not 0 or 1");
  }
  return static_cast<float>(label);
}

LossStats SigmoidCrossEntropy::forward(const Tensor& output, const Batch& batch) {
  const int64_t n = output.rows(), d = output.row_size();
  if (!batch.labels.empty() ? static_cast<int64_t>(batch.labels.size()) != n
                            : batch.targets.numel() != output.numel()) {
    throw std::invalid_argument(
        "sigmoid_cross_entropy needs a class id per sample, or float targets shaped like the output " +
        shape_string(output.shape()));
  }
  LossStats stats;
  stats.count = n;
  for (int64_t i = 0; i < n; ++i) {
    double sum = 0.0;
    bool right = true;
    for (int64_t j = i * d; j < (i + 1) * d; ++j) {
      const float z = output[j], y = target(batch, j);
      sum += std::max(z, 0.0f) - z * y + std::log1p(std::exp(-std::abs(z)));
      right = right && ((z > 0.0f) == (y > 0.5f));
    }
    stats.add_loss(sum);
    stats.correct += right ? 1 : 0;
  }
  return stats;
}

void SigmoidCrossEntropy::backward(const Tensor& output, const Batch& batch, float scale, Tensor& d_output) {
  d_output.reshape(output.shape());
  for (int64_t j = 0; j < output.numel(); ++j) {
    const float z = output[j];
    const float p = z >= 0.0f ? 1.0f / (1.0f + std::exp(-z)) : std::exp(z) / (1.0f + std::exp(z));
    d_output[j] = scale * (p - target(batch, j));
  }
}

void Loss::check_targets(const DataDescription& data, const Shape& output) const {
  if (data.class_labels) {
    throw std::invalid_argument("/label holds class ids, but the model ends in " + type() +
                                ", which needs float targets");
  }
  if (shape_numel(data.target_shape) != shape_numel(output)) {
    throw std::invalid_argument("/label rows have shape " + shape_string(data.target_shape) +
                                " but the model outputs " + shape_string(output));
  }
}

void SoftmaxCrossEntropy::check_targets(const DataDescription& data, const Shape& output) const {
  check_class_ids(data, output, "softmax_cross_entropy");
}

void SigmoidCrossEntropy::check_targets(const DataDescription& data, const Shape& output) const {
  if (!data.class_labels) return Loss::check_targets(data, output);
  const int64_t outputs = shape_numel(output);
  if (outputs == 1 ? data.num_classes > 2 : data.num_classes > outputs) {
    throw std::invalid_argument("has " + std::to_string(data.num_classes) +
                                " classes, but the model ends in sigmoid_cross_entropy on " + shape_string(output) +
                                " outputs: class ids need one output and 2 classes, or one output per class");
  }
}

std::vector<double> Loss::class_scores(const float* output, int64_t outputs) const {
  if (outputs == 1) return {-static_cast<double>(output[0]), static_cast<double>(output[0])};
  return {output, output + outputs};
}

std::vector<double> SoftmaxCrossEntropy::class_scores(const float* output, int64_t outputs) const {
  const double top = *std::max_element(output, output + outputs);
  std::vector<double> p(static_cast<size_t>(outputs));
  double sum = 0.0;
  for (int64_t j = 0; j < outputs; ++j) sum += (p[j] = std::exp(output[j] - top));
  for (double& v : p) v /= sum;
  return p;
}

std::vector<double> SigmoidCrossEntropy::class_scores(const float* output, int64_t outputs) const {
  const auto sigmoid = [](double z) { return 1.0 / (1.0 + std::exp(-z)); };
  if (outputs == 1) return {1.0 - sigmoid(output[0]), sigmoid(output[0])};
  std::vector<double> p(static_cast<size_t>(outputs));
  for (int64_t j = 0; j < outputs; ++j) p[j] = sigmoid(output[j]);
  return p;
}

}  // namespace shardnet

SHARDNET_REGISTER_LAYERS(loss) {
  using namespace shardnet;
  registry.add(
      LayerType{"softmax_cross_entropy",
                "softmax and cross-entropy against int32 class ids (loss)",
                {float_option("smoothing", 0.0f, 0.0, 0.999, "label smoothing")},
                {},
                [](const LayerOptions& o) { return std::make_unique<SoftmaxCrossEntropy>(o.number("smoothing")); },
                ExampleInput{{5}}});
  registry.add(LayerType{"mse",
                         "mean squared error against float targets, or against the input (loss)",
                         {choice_option("target", {"label", "input"}, "label",
                                        "the data set's float /label, or the sample's own input (an autoencoder)")},
                         {},
                         [](const LayerOptions& o) {
                           return std::make_unique<MeanSquaredError>(
                               o.choice("target") == "input" ? RegressionTarget::kInput : RegressionTarget::kLabels);
                         },
                         ExampleInput{{2, 3}}});
  registry.add(LayerType{"huber",
                         "Huber loss against float targets: quadratic within delta, linear beyond (loss)",
                         {float_option("delta", 1.0f, 1e-6, 1e6, "where the loss turns from quadratic to linear")},
                         {},
                         [](const LayerOptions& o) { return std::make_unique<Huber>(o.number("delta")); },
                         ExampleInput{{2, 3}}});
  registry.add(LayerType{"hinge",
                         "multiclass SVM loss against int32 class ids: sum of max(0, margin - z_y + z_j) (loss)",
                         {float_option("margin", 1.0f, 0.0, 1e6, "the margin the right class must win by")},
                         {},
                         [](const LayerOptions& o) { return std::make_unique<MulticlassHinge>(o.number("margin")); },
                         ExampleInput{{4}}});
  registry.add(LayerType{"perceptron",
                         "perceptron criterion: max_j z_j - z_y (or max(0, -t z) on one output) (loss)",
                         {},
                         {},
                         [](const LayerOptions&) { return std::make_unique<PerceptronCriterion>(); },
                         ExampleInput{{4}}});
  registry.add(LayerType{"sigmoid_cross_entropy",
                         "sigmoid and binary cross-entropy: class ids 0/1 on one output, or targets in [0, 1] (loss)",
                         {},
                         {},
                         [](const LayerOptions&) { return std::make_unique<SigmoidCrossEntropy>(); },
                         ExampleInput{{3}}});
}
