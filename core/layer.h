#pragma once
// The layer interface: a differentiable function of one input with optional named parameters.
// Shapes passed to setup() are per sample (no batch dimension); tensors carry the batch first.
#include <algorithm>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/batch_source.h"
#include "core/exact_sum.h"
#include "core/tensor.h"

namespace shardnet {

enum class Mode { kTrain, kEval };

class Collective;

// What a layer may need to know about the step beyond its input: the run's seed, the epoch and
// the data-set index of each sample (randomness is keyed by these, never by rank or position), and
// the collective for layers that reduce across ranks. Owned by the Net, updated every batch.
struct StepContext {
  uint64_t seed = 0;
  int64_t epoch = 0;
  std::span<const int64_t> rows;
  Collective* collective = nullptr;  // null: one process
  std::span<const int32_t> lengths;  // sequence lengths of the batch (empty: all full length)
  // Exact mode (train --exact): samples per grain, 0 when off. A batch is whole grains of this many
  // consecutive samples (in evaluation the last may be shorter); see Layer::for_each_grain.
  int64_t grain = 0;
};

// A learnable tensor and its gradient, with Caffe's per-parameter multipliers of the learning rate
// and of the weight decay. Layers give weights decay_mult 1 and biases 0; a model file can set both
// (`lr_mult = ...`, `decay_mult = ...`). lr_mult 0 freezes the parameter.
struct Param {
  std::string name;  // "<layer>/<param>", the key in checkpoints and optimizer state
  Tensor value;
  Tensor grad;
  float decay_mult = 1.0f;
  float lr_mult = 1.0f;
  // Exact mode: the gradient's exact sum over the grains of the step (Layer::deposit_grain).
  ExactSum grain_sum{};

  // A weight (weight decay applies by default) or a bias or shift (it does not); zeroed.
  static Param weight(std::string name, const Shape& shape) { return make(std::move(name), shape, 1.0f); }
  static Param bias(std::string name, const Shape& shape) { return make(std::move(name), shape, 0.0f); }

 private:
  static Param make(std::string name, const Shape& shape, float decay_mult) {
    return Param{std::move(name), Tensor(shape), Tensor(shape), decay_mult};  // new tensors are zero
  }
};

// State that is checkpointed but not learned (BatchNorm's running statistics): no gradient, no
// optimizer, no multipliers.
struct Buffer {
  std::string name;  // "<layer>/<buffer>", the key under /buffers in checkpoints
  Tensor value;
};

// Thrown when a layer cannot take the shape it is given; the model parser adds the line.
class ShapeError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

class Layer {
 public:
  explicit Layer(std::string name) : name_(std::move(name)) {}
  virtual ~Layer() = default;
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  virtual std::string type() const = 0;
  const std::string& name() const { return name_; }

  // Called before setup() with the layers added before this one: a layer that works with an
  // earlier one it names (maxunpool with its maxpool) finds it here, or throws ShapeError.
  virtual void connect(std::span<Layer* const> earlier) {}
  // Checks the input shape, sizes the parameters and returns the output shape (per sample).
  virtual Shape setup(const Shape& input) = 0;
  // Draws initial parameter values from `seed`.
  virtual void initialize(uint64_t seed) {}

  virtual void forward(const Tensor& x, Tensor& y, Mode mode) = 0;
  // Given dL/dy, writes the parameter gradients (overwriting) and, when dx is not null, dL/dx.
  virtual void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) = 0;

  virtual std::vector<Param*> params() { return {}; }
  // State that is not learned but must be checkpointed (e.g. BatchNorm's running statistics).
  virtual std::vector<Buffer*> buffers() { return {}; }
  void bind(const StepContext* context) { context_ = context; }
  // A one-line description of the configuration, e.g. "filters=32 size=5 stride=1 pad=2".
  virtual std::string describe() const { return ""; }

  // Hooks for the layers that read the data themselves (Net calls them; the defaults do nothing).
  // As the first layer: throws std::invalid_argument when the data set cannot feed it.
  virtual void check_input_data(const DataDescription& data) const {}
  // As the first layer, after check_input_data: takes what it needs from the data's description
  // (the skip-gram layer its noise distribution from the word counts).
  virtual void adopt_data(const DataDescription& data) {}
  // The first layer's inputs are token ids below this (an embedding); 0: real values.
  virtual int64_t input_vocab() const { return 0; }
  // True for a layer that changes samples only in training (augmentation): a layer after it
  // still sees the data as stored.
  virtual bool is_augmentation() const { return false; }
  // True for a layer initialised from samples of the data (a whitening conv); Net::initialize_from_data
  // then calls initialize_from_data with samples shaped as the net's input.
  virtual bool initializes_from_data() const { return false; }
  virtual void initialize_from_data(const Tensor& samples) {}

 protected:
  // Output tensor shape for a batch of `batch` samples of per-sample shape `sample`.
  static Shape batched(int64_t batch, const Shape& sample) {
    Shape s{batch};
    s.insert(s.end(), sample.begin(), sample.end());
    return s;
  }

  // Exact mode: calls fn(first, count) for each grain of a batch of n samples, otherwise once for
  // the whole batch. A kernel that sums over samples (a weight gradient), or whose result for one
  // sample could depend on how many others share its call (a GEMM's shape picks the BLAS code
  // path), runs grain by grain: each grain then computes the same bits on whichever rank holds it.
  template <class Fn>
  void for_each_grain(int64_t n, Fn&& fn) const {
    const int64_t grain = exact() ? context_->grain : std::max<int64_t>(n, 1);
    for (int64_t first = 0; first < n; first += grain) fn(first, std::min(grain, n - first));
  }
  bool exact() const { return context_ != nullptr && context_->grain > 0; }
  // Exact mode: adds the gradients just written (one grain's, or one sample's) to the parameters'
  // exact sums, which are what the step sums over ranks. Otherwise nothing: the gradients are final.
  void deposit_grain(const std::vector<Param*>& params) const {
    if (!exact()) return;
    for (Param* p : params) p->grain_sum.add(p->grad.span());
  }

 protected:
  const StepContext* context_ = nullptr;

 private:
  std::string name_;
};

}  // namespace shardnet
