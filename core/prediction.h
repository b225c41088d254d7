#pragma once
// Applying a trained net to prepared rows (`shardnet predict`): its outputs in evaluation mode,
// batch by batch, and the best classes of a classifier's output row.
#include <cstdint>
#include <span>
#include <vector>

#include "core/loss.h"
#include "core/net.h"
#include "core/tensor.h"

namespace shardnet {

// The net's outputs (rows x output numel) for `data` (rows x input numel), `batch` rows at a time;
// `lengths` holds each row's sequence length, or is empty (every step real).
Tensor predict_outputs(Net& net, std::span<const float> data, std::span<const int32_t> lengths, int64_t batch);

struct ClassScore {
  int64_t index = 0;
  double score = 0.0;  // a probability when the loss's scores are probabilities
};
// The `k` best classes of one output row by the loss's class scores, best first, ties to the lower
// index (so the first is the class the loss counts as the prediction).
std::vector<ClassScore> top_classes(const Loss& loss, const float* output, int64_t outputs, int64_t k);

}  // namespace shardnet
