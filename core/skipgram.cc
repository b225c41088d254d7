#include "core/skipgram.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "core/layer_registry.h"
#include "core/random.h"

namespace shardnet {

namespace {
// Redraws of a noise word that came out equal to the sample's context (word2vec.c skips it).
constexpr int kMaxRedraws = 8;
}  // namespace

SkipGram::SkipGram(std::string name, int64_t vocab, int64_t dim, int64_t negatives, float power)
    : Layer(std::move(name)), vocab_(vocab), dim_(dim), negatives_(negatives), power_(power) {
  if (vocab < 2 || dim < 1 || negatives < 1) {
    throw std::invalid_argument("skipgram: vocab must be >= 2, dim and negatives >= 1");
  }
}

Shape SkipGram::setup(const Shape& input) {
  if (input != Shape{2}) {
    throw ShapeError("skipgram needs (centre, context) token id pairs, shape (2), got " + shape_string(input));
  }
  input_vectors_ = Param::weight(name() + "/input_vectors", {vocab_, dim_});
  output_vectors_ = Param::weight(name() + "/output_vectors", {vocab_, dim_});
  // word2vec trains the vectors without weight decay.
  input_vectors_.decay_mult = output_vectors_.decay_mult = 0.0f;
  noise_ = Buffer{name() + "/noise", Tensor({vocab_})};
  return {1 + negatives_};
}

void SkipGram::initialize(uint64_t seed) {
  CounterRng rng(seed, 0);
  const float half = 0.5f / static_cast<float>(dim_);
  for (float& v : input_vectors_.value.span()) v = rng.uniform(-half, half);
  output_vectors_.value.zero();
}

std::string SkipGram::describe() const {
  return "vocab=" + std::to_string(vocab_) + " dim=" + std::to_string(dim_) +
         " negatives=" + std::to_string(negatives_) + " power=" + std::to_string(power_).substr(0, 4);
}

void SkipGram::check_input_data(const DataDescription& data) const {
  if (data.vocab_size > vocab_) {
    throw std::invalid_argument("/vocab has " + std::to_string(data.vocab_size) + " tokens but [skipgram] " + name() +
                                " has vocab = " + std::to_string(vocab_));
  }
  if (data.token_counts.empty()) {
    throw std::invalid_argument("[skipgram] " + name() +
                                " draws its noise words by the data's word counts, and this file has no /counts "
                                "(shardnet convert skipgram writes them)");
  }
}

void SkipGram::adopt_data(const DataDescription& data) {
  float* noise = noise_.value.data();
  if (std::any_of(noise, noise + vocab_, [](float v) { return v != 0.0f; })) return;  // trained or loaded
  double total = 0.0;
  for (size_t i = 0; i < data.token_counts.size() && static_cast<int64_t>(i) < vocab_; ++i) {
    total += std::pow(static_cast<double>(data.token_counts[i]), static_cast<double>(power_));
  }
  if (!(total > 0.0)) return;
  for (size_t i = 0; i < data.token_counts.size() && static_cast<int64_t>(i) < vocab_; ++i) {
    noise[i] =
        static_cast<float>(std::pow(static_cast<double>(data.token_counts[i]), static_cast<double>(power_)) / total);
  }
}

int64_t SkipGram::checked_id(float id, int64_t sample) const {
  if (!(id >= 0.0f && id < static_cast<float>(vocab_)) || id != std::floor(id)) {
    throw std::out_of_range(name() + ": token id " + std::to_string(id) + " of sample " + std::to_string(sample) +
                            " is outside the vocabulary of " + std::to_string(vocab_) + " words");
  }
  return static_cast<int64_t>(id);
}

void SkipGram::draw_noise(const Tensor& x) {
  const int64_t n = x.rows(), k = negatives_;
  cumulative_.resize(static_cast<size_t>(vocab_));
  double sum = 0.0;
  for (int64_t v = 0; v < vocab_; ++v) cumulative_[static_cast<size_t>(v)] = sum += noise_.value[v];
  const bool uniform = !(sum > 0.0);
  centres_.resize(static_cast<size_t>(n));
  ids_.resize(static_cast<size_t>(n * (1 + k)));
  const uint64_t seed = context_ != nullptr ? context_->seed : 0, epoch = context_ != nullptr ? context_->epoch : 0;
  const uint64_t key = hash_key(seed, std::hash<std::string>{}(name()), epoch);
  for (int64_t i = 0; i < n; ++i) {
    centres_[static_cast<size_t>(i)] = static_cast<int32_t>(checked_id(x[2 * i], i));
    const auto context = static_cast<int32_t>(checked_id(x[2 * i + 1], i));
    int32_t* ids = ids_.data() + i * (1 + k);
    ids[0] = context;
    const bool has_row = context_ != nullptr && static_cast<int64_t>(context_->rows.size()) == n;
    CounterRng rng(hash_key(key, has_row ? static_cast<uint64_t>(context_->rows[i]) : static_cast<uint64_t>(i)));
    for (int64_t j = 1; j <= k; ++j) {
      int32_t word = context;
      for (int attempt = 0; attempt < kMaxRedraws && word == context; ++attempt) {
        if (uniform) {
          word = static_cast<int32_t>(rng.below(static_cast<uint64_t>(vocab_)));
          continue;
        }
        const double u = static_cast<double>(rng.next_u64() >> 11) * (sum / 9007199254740992.0);
        const auto at = std::upper_bound(cumulative_.begin(), cumulative_.end(), u) - cumulative_.begin();
        word = static_cast<int32_t>(std::min<int64_t>(at, vocab_ - 1));
      }
      ids[j] = word;
    }
  }
}

void SkipGram::forward(const Tensor& x, Tensor& y, Mode) {
  const int64_t n = x.rows(), outputs = 1 + negatives_;
  draw_noise(x);
  y.reshape({n, outputs});
  for (int64_t i = 0; i < n; ++i) {
    const float* centre = input_vectors_.value.data() + centres_[static_cast<size_t>(i)] * dim_;
    for (int64_t j = 0; j < outputs; ++j) {
      const float* word = output_vectors_.value.data() + ids_[static_cast<size_t>(i * outputs + j)] * dim_;
      float s = 0.0f;
      for (int64_t d = 0; d < dim_; ++d) s += centre[d] * word[d];
      y[i * outputs + j] = s;
    }
  }
}

void SkipGram::backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) {
  const int64_t n = x.rows(), outputs = 1 + negatives_;
  if (!exact()) {
    input_vectors_.grad.zero();
    output_vectors_.grad.zero();
  }
  std::vector<float> d_centre(static_cast<size_t>(dim_)), d_word(static_cast<size_t>(dim_));
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = centres_[static_cast<size_t>(i)];
    const float* centre = input_vectors_.value.data() + c * dim_;
    std::fill(d_centre.begin(), d_centre.end(), 0.0f);
    for (int64_t j = 0; j < outputs; ++j) {
      const float g = dy[i * outputs + j];
      const int64_t w = ids_[static_cast<size_t>(i * outputs + j)];
      const float* word = output_vectors_.value.data() + w * dim_;
      for (int64_t d = 0; d < dim_; ++d) {
        d_centre[static_cast<size_t>(d)] += g * word[d];
        d_word[static_cast<size_t>(d)] = g * centre[d];
      }
      // Exact mode: each sample's rows are terms of the tables' exact sums.
      if (exact()) {
        output_vectors_.grain_sum.add(d_word, static_cast<size_t>(w * dim_));
        continue;
      }
      float* row = output_vectors_.grad.data() + w * dim_;
      for (int64_t d = 0; d < dim_; ++d) row[d] += d_word[static_cast<size_t>(d)];
    }
    if (exact()) {
      input_vectors_.grain_sum.add(d_centre, static_cast<size_t>(c * dim_));
      continue;
    }
    float* row = input_vectors_.grad.data() + c * dim_;
    for (int64_t d = 0; d < dim_; ++d) row[d] += d_centre[static_cast<size_t>(d)];
  }
  if (dx != nullptr) {  // token ids are not differentiable
    dx->reshape(x.shape());
    dx->zero();
  }
}

}  // namespace shardnet

SHARDNET_REGISTER_LAYERS(skipgram) {
  using namespace shardnet;
  registry.add(LayerType{
      "skipgram",
      "word2vec skip-gram with negative sampling: (centre, context) ids to 1 + negatives logits",
      {int_option("vocab", std::nullopt, 2, kNoLimit, "words (token ids below this)"),
       int_option("dim", 100, 1, kNoLimit, "vector size"), int_option("negatives", 5, 1, 1000, "noise words per pair"),
       float_option("power", 0.75f, 0.0, 2.0, "noise distribution: word counts raised to this power")},
      [](const std::string& name, const LayerOptions& o) {
        return std::make_unique<SkipGram>(name, o.integer("vocab"), o.integer("dim"), o.integer("negatives"),
                                          o.number("power"));
      },
      {},
      ExampleInput{{2}, {{"vocab", "9"}, {"dim", "3"}, {"negatives", "2"}}, 9}});
}
