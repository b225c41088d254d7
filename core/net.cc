#include "core/net.h"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <numeric>
#include <optional>
#include <stdexcept>

#include "core/activation.h"
#include "core/batchnorm.h"
#include "core/pooling.h"
#include "core/random.h"

namespace shardnet {

Net::Net(Shape input_shape) : input_shape_(std::move(input_shape)) {
  for (int64_t d : input_shape_) {
    if (d <= 0) throw ShapeError("input shape " + shape_string(input_shape_) + " has a non-positive size");
  }
  if (input_shape_.empty()) throw ShapeError("input shape is empty");
  shapes_.push_back(input_shape_);
}

void Net::add(std::unique_ptr<Layer> layer) {
  layer->bind(&context_);
  std::vector<Layer*> earlier;
  for (auto& l : layers_) earlier.push_back(l.get());
  layer->connect(earlier);
  const Shape output = layer->setup(shapes_.back());
  // Parameters with their gradients and up to two optimizer slots, and one sample's output and its
  // gradient: a model that cannot fit one sample is refused here, not by the kernel's OOM killer.
  int64_t elements = 0;
  for (const Param* p : layer->params()) elements += 4 * p->value.numel();
  elements += 2 * shape_numel(output);
  built_bytes_ += elements * static_cast<int64_t>(sizeof(float));
  if (built_bytes_ > physical_memory_bytes()) {
    throw ShapeError(layer->name() + " brings the model to " + std::to_string(built_bytes_ >> 20) +
                     " MiB for parameters, optimizer state and one sample's activations, more than this machine's " +
                     std::to_string(physical_memory_bytes() >> 20) + " MiB of memory");
  }
  shapes_.push_back(output);
  layers_.push_back(std::move(layer));
  outputs_.emplace_back();
  grads_.emplace_back();
}

void Net::set_loss(std::unique_ptr<Loss> loss) {
  loss->setup(shapes_.back());
  loss_ = std::move(loss);
}

void Net::initialize(uint64_t seed) {
  context_.seed = seed;
  for (size_t i = 0; i < layers_.size(); ++i) layers_[i]->initialize(hash_key(seed, 0x1a7e5, i));
}

std::vector<Param*> Net::params() {
  std::vector<Param*> all;
  for (auto& layer : layers_) {
    for (Param* p : layer->params()) all.push_back(p);
  }
  return all;
}

std::vector<Buffer*> Net::buffers() {
  std::vector<Buffer*> all;
  for (auto& layer : layers_) {
    for (Buffer* b : layer->buffers()) all.push_back(b);
  }
  return all;
}

int64_t Net::param_count() {
  int64_t n = 0;
  for (Param* p : params()) n += p->value.numel();
  return n;
}

void Net::profile_layers(std::vector<LayerTime>* times) {
  if (times != nullptr) times->resize(layers_.size());
  layer_times_ = times;
}

namespace {
// Adds the time and kernel work between construction and destruction to `seconds` and `kernels`.
class LayerClock {
 public:
  LayerClock(double* seconds, KernelStats* kernels)
      : seconds_(seconds), kernels_(kernels), start_(std::chrono::steady_clock::now()), before_(kernel_stats()) {}
  ~LayerClock() {
    *seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const KernelStats used = kernel_stats() - before_;
    kernels_->gemm_seconds += used.gemm_seconds;
    kernels_->gemm_flops += used.gemm_flops;
    kernels_->im2col_seconds += used.im2col_seconds;
    kernels_->flops_saved += used.flops_saved;
  }

 private:
  double* seconds_;
  KernelStats* kernels_;
  std::chrono::steady_clock::time_point start_;
  KernelStats before_;
};
}  // namespace

void Net::plan_fusions() {
  plan_.assign(layers_.size(), Fusion::kNone);
  for (size_t i = 0; i + 1 < layers_.size() && !keep_outputs_; ++i) {
    Layer* next = layers_[i + 1].get();
    // ReLU only: it is the identity on the values a pool can pick and 0 on the rest. A strictly
    // increasing activation (sigmoid, leaky ReLU) can round two inputs to one output, so the pool
    // would break the tie at another element than in the model's order.
    if (dynamic_cast<const ReLU*>(layers_[i].get()) != nullptr && dynamic_cast<const MaxPool*>(next) != nullptr) {
      plan_[i] = Fusion::kAfterNextPool;
      ++i;  // the pool runs first and is not fused with anything else
    }
  }
  for (size_t i = 0; i < layers_.size(); ++i) {
    auto* batchnorm = dynamic_cast<BatchNorm*>(layers_[i].get());
    if (batchnorm == nullptr) continue;
    const Activation* activation = nullptr;
    if (i + 1 < layers_.size() && plan_[i] == Fusion::kNone && plan_[i + 1] == Fusion::kNone && !keep_outputs_ &&
        batchnorm->fusion_pays()) {
      activation = dynamic_cast<const Activation*>(layers_[i + 1].get());
    }
    batchnorm->set_fused_activation(activation);
    if (activation != nullptr) {
      plan_[i] = Fusion::kWithNext;
      plan_[i + 1] = Fusion::kIntoPrevious;
    }
  }
}

const Tensor& Net::output(size_t layer) const {
  if (!output_stored(layer)) {
    throw std::logic_error(layers_[layer]->name() + " ran fused with " + layers_[layer + 1]->name() +
                           ", so its output was not stored: call Net::keep_outputs(true) before the forward pass");
  }
  return outputs_[layer];
}

const Tensor& Net::output_gradient(size_t layer) const {
  if (!output_stored(layer)) {
    throw std::logic_error(layers_[layer]->name() + " ran fused with " + layers_[layer + 1]->name() +
                           ", so its gradient was not stored: call Net::keep_outputs(true) before the forward pass");
  }
  return grads_[layer];
}

void Net::forward_layer(size_t i, const Tensor& x, Tensor& y, Mode mode) {
  std::optional<LayerClock> clock;
  if (layer_times_) clock.emplace(&(*layer_times_)[i].forward_seconds, &(*layer_times_)[i].forward_kernels);
  layers_[i]->forward(x, y, mode);
}

void Net::backward_layer(size_t i, const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) {
  std::optional<LayerClock> clock;
  if (layer_times_) clock.emplace(&(*layer_times_)[i].backward_seconds, &(*layer_times_)[i].backward_kernels);
  layers_[i]->backward(x, y, dy, dx);
}

const Tensor& Net::forward(const Tensor& x, Mode mode) {
  assert(x.row_size() == shape_numel(input_shape_));
  input_ = &x;
  plan_fusions();
  const Tensor* in = &x;
  for (size_t i = 0; i < layers_.size(); ++i) {
    switch (plan_[i]) {
      case Fusion::kAfterNextPool:
        forward_layer(i + 1, *in, outputs_[i], mode);
        forward_layer(i, outputs_[i], outputs_[i + 1], mode);
        in = &outputs_[++i];
        break;
      case Fusion::kWithNext:
        forward_layer(i, *in, outputs_[i + 1], mode);
        in = &outputs_[++i];
        break;
      case Fusion::kNone:
      case Fusion::kIntoPrevious:  // not reached: skipped with its batchnorm
        forward_layer(i, *in, outputs_[i], mode);
        in = &outputs_[i];
        break;
    }
  }
  return *in;
}

const Tensor& Net::forward(const Batch& batch, Mode mode) {
  context_.epoch = batch.epoch;
  context_.rows = batch.rows;
  context_.lengths = batch.lengths;
  return forward(batch.data, mode);
}

LossStats Net::forward_loss(const Batch& batch, Mode mode) {
  if (!loss_) throw std::logic_error("the model has no loss layer");
  return loss_->forward(forward(batch, mode), batch);
}

void Net::backward(const Batch& batch, float scale, const std::function<void(size_t)>& layer_done) {
  assert(input_ == &batch.data && !layers_.empty());
  loss_->backward(outputs_.back(), batch, scale, grads_.back());
  propagate(batch.data, nullptr, layer_done);
}

void Net::backward_from(const Tensor& d_output, Tensor* d_input) {
  if (input_ == nullptr || layers_.empty()) throw std::logic_error("Net::backward_from needs a forward first");
  if (d_output.shape() != outputs_.back().shape()) {
    throw std::invalid_argument("Net::backward_from: the gradient has shape " + shape_string(d_output.shape()) +
                                ", the output " + shape_string(outputs_.back().shape()));
  }
  grads_.back() = d_output;
  propagate(*input_, d_input, {});
}

void Net::propagate(const Tensor& input, Tensor* d_input, const std::function<void(size_t)>& layer_done) {
  auto in = [&](size_t i) -> const Tensor& { return i == 0 ? input : outputs_[i - 1]; };
  auto d_in = [&](size_t i) { return i == 0 ? d_input : &grads_[i - 1]; };
  for (size_t i = layers_.size(); i-- > 0;) {
    const Fusion with_previous = i > 0 ? plan_[i - 1] : Fusion::kNone;
    if (with_previous != Fusion::kAfterNextPool && with_previous != Fusion::kWithNext) {
      backward_layer(i, in(i), outputs_[i], grads_[i], d_in(i));
      if (layer_done) layer_done(i);
      continue;
    }
    // The pair of forward(), undone.
    const size_t first = i - 1;
    if (with_previous == Fusion::kAfterNextPool) {
      backward_layer(first, outputs_[first], outputs_[i], grads_[i], &grads_[first]);
      backward_layer(i, in(first), outputs_[first], grads_[first], d_in(first));
    } else {
      backward_layer(first, in(first), outputs_[i], grads_[i], d_in(first));
    }
    if (layer_done) {
      layer_done(i);
      layer_done(first);
    }
    i = first;
  }
}

void Net::check_data(const DataDescription& data, const std::string& model_name) {
  auto fail = [&](const std::string& what) {
    throw std::runtime_error(data.source + ": " + what + " (model " + model_name + ")");
  };
  // The same shape up to size-1 dimensions: (1, 28, 28) rows feed `shape = 28,28`, but (32, 32, 3)
  // rows (channels last) do not feed `shape = 3,32,32`, though they have as many values.
  auto squeezed = [](const Shape& s) {
    Shape out;
    for (int64_t d : s)
      if (d != 1) out.push_back(d);
    return out;
  };
  if (squeezed(data.sample_shape) != squeezed(input_shape_)) {
    fail("/data rows have shape " + shape_string(data.sample_shape) + " but the model's [input] is " +
         shape_string(input_shape_));
  }
  try {
    if (!layers_.empty()) layers_.front()->check_input_data(data);
    loss_->check_targets(data, output_shape());
    if (!layers_.empty()) layers_.front()->adopt_data(data);
  } catch (const std::invalid_argument& e) {
    fail(e.what());
  }
}

void Net::initialize_from_data(BatchSource& data, int64_t samples) {
  for (size_t i = 0; i < layers_.size(); ++i) {
    Layer& layer = *layers_[i];
    if (!layer.initializes_from_data()) continue;
    for (size_t j = 0; j < i; ++j) {
      if (!layers_[j]->is_augmentation()) {
        throw std::runtime_error(layer.name() + ": [" + layer.type() +
                                 "] is initialised from the data, so it must see the data (only [augment] before it), "
                                 "but " +
                                 layers_[j]->name() + " comes first");
      }
    }
    std::vector<int64_t> rows(static_cast<size_t>(std::min(samples, data.size())));
    std::iota(rows.begin(), rows.end(), 0);
    Batch batch;
    data.read(rows, batch);
    Shape shape = input_shape_;
    shape.insert(shape.begin(), batch.size());
    batch.data.reshape(shape);
    layer.initialize_from_data(batch.data);
  }
}

namespace {

template <class Named>
void move_toward(const std::vector<Named*>& target, const std::vector<Named*>& source, float tau, const char* what) {
  if (target.size() != source.size()) {
    throw std::invalid_argument(std::string("the nets have different numbers of ") + what + "s (" +
                                std::to_string(target.size()) + " and " + std::to_string(source.size()) + ")");
  }
  for (size_t i = 0; i < target.size(); ++i) {
    Tensor& to = target[i]->value;
    const Tensor& from = source[i]->value;
    if (target[i]->name != source[i]->name || to.shape() != from.shape()) {
      throw std::invalid_argument(std::string(what) + " " + target[i]->name + " " + shape_string(to.shape()) +
                                  " has no counterpart in the other net (found " + source[i]->name + " " +
                                  shape_string(from.shape()) + ")");
    }
    float* t = to.data();
    const float* f = from.data();
    if (tau == 1.0f) {
      std::copy_n(f, to.numel(), t);
    } else {
      for (int64_t j = 0; j < to.numel(); ++j) t[j] += tau * (f[j] - t[j]);
    }
  }
}

}  // namespace

void move_parameters_toward(Net& target, Net& source, float tau) {
  if (!(tau > 0.0f && tau <= 1.0f)) throw std::invalid_argument("move_parameters_toward: tau must be in (0, 1]");
  move_toward(target.params(), source.params(), tau, "parameter");
  move_toward(target.buffers(), source.buffers(), tau, "buffer");
}

}  // namespace shardnet
