#pragma once
// Losses sit after the last layer. forward() returns the sum of per-sample losses (and, for
// classifiers, how many predictions were right); backward() writes d(scale * that sum)/d(output).
// With scale = 1 / global batch, the gradients of all ranks add up to the gradient of the mean loss.
#include <string>

#include "core/batch.h"
#include "core/batch_source.h"
#include "core/exact_sum.h"
#include "core/layer.h"

namespace shardnet {

struct LossStats {
  double loss_sum = 0.0;
  int64_t correct = 0;  // classification only
  int64_t count = 0;
  // The same sum of the samples' losses, exact (core/exact_sum.h): its total over batches and
  // ranks is the same whichever batches and ranks held the samples. Epoch and test scores use it.
  ExactSum exact_loss_sum{1};

  void add_loss(double loss) {
    loss_sum += loss;
    exact_loss_sum.add(std::span<const double>(&loss, 1));
  }
  // Adds another batch's figures.
  void add(const LossStats& other) {
    loss_sum += other.loss_sum;
    correct += other.correct;
    count += other.count;
    exact_loss_sum.add(other.exact_loss_sum);
  }
};

class Loss {
 public:
  virtual ~Loss() = default;
  virtual std::string type() const = 0;
  // Checks the output shape of the net (per sample) against what the loss needs.
  virtual void setup(const Shape& output) = 0;
  virtual bool is_classifier() const { return false; }
  // A classifier's output row as one score per class, the best highest: probabilities where the
  // loss defines them (softmax; sigmoid, each class against the rest), the raw outputs otherwise. A
  // single output is the binary form: two classes, class 1 when the output is above 0.
  virtual std::vector<double> class_scores(const float* output, int64_t outputs) const;
  virtual bool scores_are_probabilities() const { return false; }
  // Throws std::invalid_argument saying what is wrong when `data`'s labels or targets cannot train
  // a net with per-sample output `output` through this loss. The default wants float targets shaped
  // like the output.
  virtual void check_targets(const DataDescription& data, const Shape& output) const;
  virtual LossStats forward(const Tensor& output, const Batch& batch) = 0;
  virtual void backward(const Tensor& output, const Batch& batch, float scale, Tensor& d_output) = 0;
};

// Softmax over the last dimension fused with cross-entropy against class ids; log-sum-exp keeps it
// finite for any logits. With label smoothing e the target is (1 - e) on the class and e / K spread
// over all K classes (as PyTorch's CrossEntropyLoss(label_smoothing = e)).
class SoftmaxCrossEntropy : public Loss {
 public:
  explicit SoftmaxCrossEntropy(float smoothing = 0.0f);
  std::string type() const override { return "softmax_cross_entropy"; }
  void setup(const Shape& output) override;
  bool is_classifier() const override { return true; }
  std::vector<double> class_scores(const float* output, int64_t outputs) const override;
  bool scores_are_probabilities() const override { return true; }
  void check_targets(const DataDescription& data, const Shape& output) const override;
  int64_t classes() const { return classes_; }
  LossStats forward(const Tensor& output, const Batch& batch) override;
  void backward(const Tensor& output, const Batch& batch, float scale, Tensor& d_output) override;

 private:
  int64_t classes_ = 0;
  float smoothing_;
  Tensor probs_;
};

// What a regression loss compares the output with: the data set's float targets (/label), or the
// sample's own input (an autoencoder; /label is then not read, and [augment] does not change it).
enum class RegressionTarget { kLabels, kInput };

// Mean squared error: per sample, the mean over its elements of (output - target)^2 (the loss of
// PyTorch's nn.MSELoss on a batch of one).
class MeanSquaredError : public Loss {
 public:
  explicit MeanSquaredError(RegressionTarget target = RegressionTarget::kLabels) : target_(target) {}
  std::string type() const override { return "mse"; }
  void setup(const Shape& output) override;
  void check_targets(const DataDescription& data, const Shape& output) const override;
  LossStats forward(const Tensor& output, const Batch& batch) override;
  void backward(const Tensor& output, const Batch& batch, float scale, Tensor& d_output) override;

 private:
  const Tensor& targets(const Batch& batch) const;
  RegressionTarget target_;
};

// The Huber loss (PyTorch's HuberLoss(delta)): per element 0.5 e^2 where |e| <= delta, else
// delta (|e| - 0.5 delta), with e = output - target, averaged over a sample's outputs. Quadratic near
// the target, linear far from it, so one large error cannot blow up the gradient (DQN's TD loss).
// Targets are float /label rows shaped like the output.
class Huber : public Loss {
 public:
  explicit Huber(float delta = 1.0f);
  std::string type() const override { return "huber"; }
  void setup(const Shape& output) override;
  LossStats forward(const Tensor& output, const Batch& batch) override;
  void backward(const Tensor& output, const Batch& batch, float scale, Tensor& d_output) override;

 private:
  float delta_;
};

// The multiclass SVM loss (Weston-Watkins, CS231n's): per sample sum over j != y of
// max(0, margin - z_y + z_j). PyTorch's MultiMarginLoss is this divided by the number of classes.
class MulticlassHinge : public Loss {
 public:
  explicit MulticlassHinge(float margin = 1.0f);
  std::string type() const override { return "hinge"; }
  void setup(const Shape& output) override;
  bool is_classifier() const override { return true; }
  void check_targets(const DataDescription& data, const Shape& output) const override;
  LossStats forward(const Tensor& output, const Batch& batch) override;
  void backward(const Tensor& output, const Batch& batch, float scale, Tensor& d_output) override;

 private:
  int64_t classes_ = 0;
  float margin_;
};

// Rosenblatt's perceptron criterion: zero for a right answer, else how far it is from one. On K >= 2
// outputs max_j z_j - z_y; on one output with class ids 0/1, max(0, -t z) with t = 2y - 1. Its
// gradient moves only the wrongly classified samples (the perceptron's update rule, by SGD).
class PerceptronCriterion : public Loss {
 public:
  std::string type() const override { return "perceptron"; }
  void setup(const Shape& output) override;
  bool is_classifier() const override { return true; }
  void check_targets(const DataDescription& data, const Shape& output) const override;
  LossStats forward(const Tensor& output, const Batch& batch) override;
  void backward(const Tensor& output, const Batch& batch, float scale, Tensor& d_output) override;

 private:
  int64_t classes_ = 0;  // outputs; 1: the binary form
};

// Sigmoid fused with binary cross-entropy, stable for any logit: per element
// max(z, 0) - z y + log(1 + exp(-|z|)), summed over a sample's outputs. Targets are class ids 0/1
// for a single output, class ids on K > 1 outputs (one against the rest: target 1 on the class's
// output, 0 on the others; the skip-gram layer's labels), or float targets in [0, 1] shaped like the
// output. A sample counts as right when every output is on the side of 0 its target is on.
class SigmoidCrossEntropy : public Loss {
 public:
  std::string type() const override { return "sigmoid_cross_entropy"; }
  void setup(const Shape& output) override;
  bool is_classifier() const override { return true; }
  std::vector<double> class_scores(const float* output, int64_t outputs) const override;
  bool scores_are_probabilities() const override { return true; }
  void check_targets(const DataDescription& data, const Shape& output) const override;
  LossStats forward(const Tensor& output, const Batch& batch) override;
  void backward(const Tensor& output, const Batch& batch, float scale, Tensor& d_output) override;

 private:
  float target(const Batch& batch, int64_t i) const;  // of output element i of the batch
  int64_t outputs_ = 0;                               // per sample
};

}  // namespace shardnet
