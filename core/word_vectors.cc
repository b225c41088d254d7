#include "core/word_vectors.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "core/recurrent.h"
#include "core/skipgram.h"

namespace shardnet {

const Tensor& word_vectors(Net& net) {
  if (net.size() > 0) {
    Layer& first = net.layer(0);
    if (auto* skipgram = dynamic_cast<SkipGram*>(&first)) return skipgram->word_vectors();
    if (auto* embedding = dynamic_cast<Embedding*>(&first)) return embedding->params().front()->value;
  }
  throw std::invalid_argument("the net's first layer is not a [skipgram] or an [embedding]: it holds no word vectors");
}

std::vector<std::pair<int64_t, float>> nearest_by_cosine(const Tensor& vectors, int64_t id, int64_t k) {
  const int64_t rows = vectors.dim(0), dim = vectors.dim(1);
  if (id < 0 || id >= rows) {
    throw std::out_of_range("word id " + std::to_string(id) + " is outside the " + std::to_string(rows) + " vectors");
  }
  auto norm = [&](int64_t r) {
    double s = 0.0;
    for (int64_t d = 0; d < dim; ++d) s += static_cast<double>(vectors[r * dim + d]) * vectors[r * dim + d];
    return std::sqrt(s);
  };
  const double own = norm(id);
  std::vector<std::pair<int64_t, float>> scored;
  for (int64_t r = 0; r < rows; ++r) {
    if (r == id) continue;
    double dot = 0.0;
    for (int64_t d = 0; d < dim; ++d) dot += static_cast<double>(vectors[id * dim + d]) * vectors[r * dim + d];
    const double lengths = own * norm(r);
    scored.emplace_back(r, lengths > 0.0 ? static_cast<float>(dot / lengths) : -2.0f);
  }
  const auto count = static_cast<size_t>(std::clamp<int64_t>(k, 0, static_cast<int64_t>(scored.size())));
  std::partial_sort(
      scored.begin(), scored.begin() + static_cast<std::ptrdiff_t>(count), scored.end(),
      [](const auto& a, const auto& b) { return a.second != b.second ? a.second > b.second : a.first < b.first; });
  scored.resize(count);
  return scored;
}

}  // namespace shardnet
