#pragma once
// Word vectors of a trained net: the table of its first layer when that is a [skipgram] (its input
// vectors) or an [embedding], and the nearest words by cosine similarity.
#include <cstdint>
#include <utility>
#include <vector>

#include "core/net.h"

namespace shardnet {

// (vocab, dim): throws std::invalid_argument when the first layer holds no word vectors.
const Tensor& word_vectors(Net& net);

// The k rows most similar to row `id` by cosine (itself left out), best first; rows of zero length
// come last. Throws std::out_of_range for an id outside the table.
std::vector<std::pair<int64_t, float>> nearest_by_cosine(const Tensor& vectors, int64_t id, int64_t k);

}  // namespace shardnet
