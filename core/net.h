#pragma once
// A sequential stack of layers ending in a loss. Activation and gradient buffers are owned here,
// sized on the first batch of a given size and reused afterwards.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/kernel_stats.h"
#include "core/layer.h"
#include "core/loss.h"

namespace shardnet {

// Time spent in one layer, with the kernel work inside it (see Net::profile_layers).
struct LayerTime {
  double forward_seconds = 0.0, backward_seconds = 0.0;
  KernelStats forward_kernels, backward_kernels;
};

class Net {
 public:
  explicit Net(Shape input_shape);

  // Appends a layer; throws ShapeError when it cannot take the current output shape.
  void add(std::unique_ptr<Layer> layer);
  void set_loss(std::unique_ptr<Loss> loss);
  // Throws std::runtime_error "<data>: <what does not fit> (<model_name>)" when the data set's
  // inputs, labels or vocabulary cannot feed this net.
  // Then the first layer adopts what it needs from the description (Layer::adopt_data).
  void check_data(const DataDescription& data, const std::string& model_name);
  // Data-dependent initialisation after initialize(): every layer that asks for it
  // (Layer::initializes_from_data) gets the first `samples` rows of `data` (the same rows on every
  // rank, so all compute the same parameters); only augmentation may come before such a layer.
  void initialize_from_data(BatchSource& data, int64_t samples);
  // Draws every layer's initial parameters; layer i uses a stream derived from (seed, i).
  void initialize(uint64_t seed);
  // The seed that keys per-sample randomness (dropout masks, augmentation); initialize() sets it too.
  void set_seed(uint64_t seed) { context_.seed = seed; }

  const Shape& input_shape() const { return input_shape_; }
  const Shape& output_shape() const { return shapes_.back(); }
  const Shape& shape_after(size_t layer) const { return shapes_[layer + 1]; }
  size_t size() const { return layers_.size(); }
  Layer& layer(size_t i) { return *layers_[i]; }
  Loss* loss() { return loss_.get(); }
  std::vector<Param*> params();
  std::vector<Buffer*> buffers();
  // Layers that reduce across ranks (SyncBatchNorm) use this; null or unset: one process.
  void set_collective(Collective* collective) { context_.collective = collective; }
  // Exact mode's samples per grain (StepContext::grain); 0: off.
  void set_grain(int64_t grain) { context_.grain = grain; }
  int64_t grain() const { return context_.grain; }
  int64_t param_count();

  // While `times` is not null, adds each layer's forward and backward time to times[layer] (one
  // entry per layer); needs enable_kernel_stats(true) for the kernel shares.
  void profile_layers(std::vector<LayerTime>* times);

  // Runs the layers; the result stays valid until the next forward.
  const Tensor& forward(const Tensor& x, Mode mode);
  // forward() of a batch's data with its sequence lengths and row keys in the step context.
  const Tensor& forward(const Batch& batch, Mode mode);
  // forward() followed by the loss on `batch`.
  LossStats forward_loss(const Batch& batch, Mode mode);
  // Back-propagates d(scale * sum of losses) through the stack after forward_loss on `batch`.
  // `layer_done(i)`, when given, runs as soon as layer i's parameter gradients are final (last
  // layer first), so that their communication can start while the layers below still run.
  void backward(const Batch& batch, float scale, const std::function<void(size_t)>& layer_done = {});
  // Back-propagates a given gradient of the net's output (after forward(), in either mode) and
  // writes d(output)/d(input) contracted with it into `d_input` when not null: saliency maps,
  // Grad-CAM, and objectives other than the loss. Overwrites the parameter gradients.
  void backward_from(const Tensor& d_output, Tensor* d_input = nullptr);
  // After forward(): layer i's output; after a backward: the gradient with respect to it. Throws
  // std::logic_error for a layer whose output the last forward did not store (see keep_outputs).
  const Tensor& output(size_t layer) const;
  const Tensor& output_gradient(size_t layer) const;

  // Two fusions save passes over memory; outputs and gradients are the same bits either way.
  // - A ReLU directly followed by a max pool runs after the pool, on a quarter of the values (2x2
  //   windows): max(relu(a), relu(b)) = relu(max(a, b)), and the pool picks the same element for
  //   every window whose maximum is positive (windows of only NaNs aside).
  // - A batchnorm directly followed by an activation applies it to each row as it writes it
  //   (BatchNorm::set_fused_activation): the normalised tensor is never stored.
  // The ReLU's and the batchnorm's own outputs and gradients then do not exist; keep_outputs(true)
  // runs every layer on its own (for code that reads every layer's output).
  void keep_outputs(bool keep) { keep_outputs_ = keep; }
  bool keeps_outputs() const { return keep_outputs_; }
  // True for an activation the batchnorm before it computed in the last forward (its time is
  // that layer's).
  bool fused_into_previous(size_t layer) const { return layer < plan_.size() && plan_[layer] == Fusion::kIntoPrevious; }
  // False for a layer whose output the last forward did not store.
  bool output_stored(size_t layer) const { return layer >= plan_.size() || plan_[layer] == Fusion::kNone; }

 private:
  // The backward pass from grads_.back() down to layer 0, whose dx goes to d_input (null: none).
  void propagate(const Tensor& input, Tensor* d_input, const std::function<void(size_t)>& layer_done);
  // How layer i runs in this forward and the backward after it.
  enum class Fusion : uint8_t {
    kNone,
    kAfterNextPool,  // a ReLU whose slot holds the pool's output; the pool's slot the ReLU of it
    kWithNext,       // a batchnorm that applies the activation after it
    kIntoPrevious,   // that activation: its slot holds the fused output
  };
  void plan_fusions();
  void forward_layer(size_t i, const Tensor& x, Tensor& y, Mode mode);
  void backward_layer(size_t i, const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx);

  StepContext context_;
  Shape input_shape_;
  std::vector<Shape> shapes_;  // shapes_[0] = input, shapes_[i + 1] = output of layer i
  std::vector<std::unique_ptr<Layer>> layers_;
  std::unique_ptr<Loss> loss_;
  const Tensor* input_ = nullptr;
  std::vector<Tensor> outputs_;  // output of layer i
  std::vector<Tensor> grads_;    // dL/d(output of layer i)
  std::vector<LayerTime>* layer_times_ = nullptr;
  bool keep_outputs_ = false;
  std::vector<Fusion> plan_;  // per layer, decided at the start of each forward
  int64_t built_bytes_ = 0;   // the memory the layers added so far need at the least
};

// Moves `target`'s parameters and buffers toward `source`'s: target = (1 - tau) target + tau source
// (tau = 1 copies them: a DQN's target network; a small tau is Polyak averaging). Both nets must
// have the same parameters and buffers by name and shape; throws std::invalid_argument naming the
// first that differs.
void move_parameters_toward(Net& target, Net& source, float tau = 1.0f);

}  // namespace shardnet
