#include "core/dropout.h"

#include <algorithm>
#include <cassert>
#include <functional>
#include <stdexcept>

#include "core/layer_registry.h"
#include "core/random.h"

namespace shardnet {

Dropout::Dropout(std::string name, float rate) : Layer(std::move(name)), rate_(rate) {
  if (!(rate >= 0.0f && rate < 1.0f)) throw std::invalid_argument("dropout: rate must be in [0, 1)");
}

void Dropout::forward(const Tensor& x, Tensor& y, Mode mode) {
  y.reshape(x.shape());
  if (mode == Mode::kEval || rate_ == 0.0f) {
    std::copy_n(x.data(), x.numel(), y.data());
    mask_.clear();
    return;
  }
  assert(context_ != nullptr && static_cast<int64_t>(context_->rows.size()) == x.rows());
  const int64_t n = x.rows(), d = x.row_size();
  const float keep = 1.0f - rate_, scale = 1.0f / keep;
  const uint64_t layer_key =
      hash_key(context_->seed, std::hash<std::string>{}(name()), static_cast<uint64_t>(context_->epoch));
  mask_.resize(static_cast<size_t>(x.numel()));
  for (int64_t i = 0; i < n; ++i) {
    CounterRng rng(hash_key(layer_key, static_cast<uint64_t>(context_->rows[i])));
    float* m = mask_.data() + i * d;
    const float* in = x.data() + i * d;
    float* out = y.data() + i * d;
    for (int64_t j = 0; j < d; ++j) {
      m[j] = rng.uniform() < keep ? scale : 0.0f;
      out[j] = in[j] * m[j];
    }
  }
}

void Dropout::backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) {
  if (dx == nullptr) return;
  dx->reshape(x.shape());
  if (mask_.empty()) {
    std::copy_n(dy.data(), dy.numel(), dx->data());
    return;
  }
  for (int64_t i = 0; i < x.numel(); ++i) (*dx)[i] = dy[i] * mask_[i];
}

}  // namespace shardnet

SHARDNET_REGISTER_LAYERS(dropout) {
  using namespace shardnet;
  registry.add(LayerType{
      "dropout",
      "inverted dropout; masks keyed by (seed, layer, epoch, sample)",
      {float_option("rate", 0.5f, 0.0, 0.999, "probability of dropping a unit")},
      [](const std::string& name, const LayerOptions& o) { return std::make_unique<Dropout>(name, o.number("rate")); },
      {},
      ExampleInput{{12}}});
}
