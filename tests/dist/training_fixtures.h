#pragma once
// What the multi-rank training tests train: synthetic data sets whose row i is a pure function of
// i (so every rank "reads" only its rows) and small models with every kind of layer that sums over
// samples or couples them (BatchNorm, dropout, augmentation, recurrence, masking).
#include <memory>
#include <span>
#include <string>

#include "core/batch_source.h"
#include "core/optimizer.h"
#include "core/random.h"

namespace shardnet {

// A virtual MNIST-shaped data set: row i is a pure function of i, so every rank "reads" only its rows.
class SyntheticImages : public BatchSource {
 public:
  SyntheticImages(int64_t rows, Shape shape) : rows_(rows), shape_(std::move(shape)) {}
  int64_t size() const override { return rows_; }
  Shape sample_shape() const override { return shape_; }
  void read(std::span<const int64_t> rows, Batch& batch) override {
    const int64_t d = shape_numel(shape_);
    Shape s{static_cast<int64_t>(rows.size())};
    s.insert(s.end(), shape_.begin(), shape_.end());
    batch.data.reshape(s);
    batch.labels.resize(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      CounterRng rng(hash_key(77, static_cast<uint64_t>(rows[i])));
      const int label = static_cast<int>(rng.below(10));
      batch.labels[i] = label;
      for (int64_t j = 0; j < d; ++j)
        batch.data[static_cast<int64_t>(i) * d + j] = rng.uniform() + (j % 10 == label ? 0.5f : 0.0f);
    }
    reads_ += static_cast<int64_t>(rows.size());
  }
  int64_t rows_read() const { return reads_; }

 private:
  int64_t rows_;
  Shape shape_;
  int64_t reads_ = 0;
};

// Variable-length token sequences (ids 2..vocab-1, padded with 0 past each sample's length), as
// `shardnet convert text` writes them; the label is a function of the first token.
class SyntheticTokens : public BatchSource {
 public:
  static constexpr int64_t kSteps = 12, kVocab = 30, kClasses = 18;
  explicit SyntheticTokens(int64_t rows) : rows_(rows) {}
  int64_t size() const override { return rows_; }
  Shape sample_shape() const override { return {kSteps}; }
  void read(std::span<const int64_t> rows, Batch& batch) override {
    batch.data.reshape({static_cast<int64_t>(rows.size()), kSteps});
    batch.labels.resize(rows.size());
    batch.lengths.resize(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      CounterRng rng(hash_key(78, static_cast<uint64_t>(rows[i])));
      const int64_t length = 1 + static_cast<int64_t>(rng.below(kSteps));
      batch.lengths[i] = static_cast<int32_t>(length);
      for (int64_t t = 0; t < kSteps; ++t)
        batch.data[static_cast<int64_t>(i) * kSteps + t] =
            t < length ? static_cast<float>(2 + rng.below(kVocab - 2)) : 0.0f;
      batch.labels[i] =
          static_cast<int32_t>(static_cast<int64_t>(batch.data[static_cast<int64_t>(i) * kSteps]) % kClasses);
    }
    reads_ += static_cast<int64_t>(rows.size());
  }
  int64_t rows_read() const { return reads_; }

 private:
  int64_t rows_;
  int64_t reads_ = 0;
};

constexpr const char* kMlp =
    "[input] shape = 1,28,28\n[dense] outputs = 512\n[relu]\n[dense] outputs = 10\n[softmax_cross_entropy]\n";
constexpr const char* kCnn =
    "[input] shape = 1,28,28\n[conv] filters = 32 size = 5 pad = 2\n[relu]\n[maxpool] size = 2\n"
    "[conv] filters = 64 size = 5 pad = 2\n[relu]\n[maxpool] size = 2\n[dense] outputs = 512\n[relu]\n"
    "[dense] outputs = 10\n[softmax_cross_entropy]\n";

// An encoder-decoder with every decoder layer (deconv, maxunpool of a named pool, bilinear upsample,
// reshape) ending in the multiclass hinge loss; and a perceptron on the flattened pixels.
constexpr const char* kDecoderHinge =
    "[input] shape = 1,28,28\n[conv] filters = 8 size = 3 pad = 1\n[relu]\n[maxpool] name = pool1 size = 2\n"
    "[conv] filters = 8 size = 3 pad = 1\n[relu]\n[maxpool] size = 2\n[deconv] filters = 8 size = 2 stride = 2\n"
    "[relu]\n[maxunpool] pool = pool1\n[avgpool] size = 4\n[upsample] factor = 2 mode = bilinear\n"
    "[reshape] shape = 8,-1\n[flatten]\n[dense] outputs = 10\n[hinge]\n";
constexpr const char* kPerceptron =
    "[input] shape = 1,28,28\n[reshape] shape = 784\n[dense] outputs = 10\n[perceptron]\n";

// SyncBatchNorm, dropout and augmentation: every source of batch coupling and randomness.
constexpr const char* kCnnBnDropout =
    "[input] shape = 1,28,28\n[augment] shift = 2 flip = 1\n[conv] filters = 8 size = 5 pad = 2\n[batchnorm]\n"
    "[relu]\n[maxpool] size = 2\n[conv] filters = 16 size = 3 pad = 1\n[batchnorm]\n[relu]\n[maxpool] size = 2\n"
    "[dense] outputs = 64\n[batchnorm]\n[relu]\n[dropout] rate = 0.3\n[dense] outputs = 10\n[softmax_cross_entropy]\n";

// Row-by-row MNIST-shaped images into an LSTM; masked variable-length tokens into a stacked
// bidirectional GRU with dropout between its layers.
constexpr const char* kRowLstm =
    "[input] shape = 28,28\n[lstm] hidden = 32 return = last\n[dense] outputs = 10\n[softmax_cross_entropy]\n";
constexpr const char* kTokenGru =
    "[input] shape = 12\n[embedding] vocab = 30 dim = 8\n"
    "[gru] hidden = 16 layers = 2 bidirectional = 1 dropout = 0.3 return = last\n[dense] outputs = 18\n"
    "[softmax_cross_entropy]\n";

// A reduced CIFAR-style model with what the fast CIFAR recipe uses: crops, flips and cutout,
// BatchNorm (synced), GELU, label smoothing, Nesterov momentum.
constexpr const char* kCifarStyle =
    "[input] shape = 3,16,16\n[augment] shift = 2 flip = 1 cutout = 4\n[conv] filters = 8 size = 3 pad = 1 bias = 0\n"
    "[batchnorm]\n[gelu]\n[maxpool] size = 2\n[conv] filters = 16 size = 3 pad = 1 bias = 0\n[batchnorm]\n[gelu]\n"
    "[maxpool] size = 2\n[dense] outputs = 10\n[softmax_cross_entropy] smoothing = 0.2\n";

// The features of examples/cifar10/fast.cfg: frozen BN scales and 64x BN-bias lr (lr_mult,
// decay_mult), dirac and pytorch init, alternating flips, final max pool, scaled logits.
constexpr const char* kCifarFast =
    "[input] shape = 3,16,16\n[augment] shift = 2 flip = alternate\n[conv] filters = 6 size = 2 bias = 0\n"
    "[batchnorm] lr_mult = 0,64 decay_mult = 0,0.015625\n[gelu]\n"
    "[conv] filters = 8 size = 3 pad = 1 bias = 0 dirac = 1 init = pytorch\n[maxpool] size = 2\n"
    "[batchnorm] lr_mult = 0,64 decay_mult = 0,0.015625\n[gelu]\n"
    "[conv] filters = 16 size = 3 pad = 1 bias = 0 dirac = 1\n[maxpool] size = 2\n"
    "[batchnorm] lr_mult = 0,64 decay_mult = 0,0.015625\n[gelu]\n[maxpool] size = 3\n"
    "[dense] outputs = 10 bias = 0 init = pytorch\n[scale] factor = 0.1111111\n[softmax_cross_entropy] smoothing = "
    "0.2\n";

// The optimizer the tests train with, by name: momentum 0.9 where it has one, weight decay 1e-4.
inline std::unique_ptr<Optimizer> test_optimizer(const std::string& name) {
  OptimizerConfig config;
  config.kind = parse_optimizer_kind(name);
  config.momentum = 0.9f;
  config.weight_decay = 1e-4f;
  return make_optimizer(config);
}

}  // namespace shardnet
