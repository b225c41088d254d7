#pragma once
// Helpers for batch-major sequence tensors (N, T, D) whose samples may be padded: the true length
// of sample n is lengths[n] (all T when `lengths` is empty). Padding never changes a result, so
// layers write zeros past a sample's length and let no gradient flow there.
#include <cstdint>
#include <span>
#include <string>

#include "core/tensor.h"

namespace shardnet {

// Length of sample n; throws std::out_of_range naming `layer` when it is not in [1, steps].
int64_t sequence_length(std::span<const int32_t> lengths, int64_t n, int64_t steps, const std::string& layer);

// Zeroes steps [length, T) of every sample of x, seen as (N, T, row) with row = numel / (N*T).
void zero_padding(Tensor& x, int64_t steps, std::span<const int32_t> lengths, const std::string& layer);

}  // namespace shardnet
