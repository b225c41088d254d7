#include "core/sequence.h"

#include <algorithm>
#include <stdexcept>

namespace shardnet {

int64_t sequence_length(std::span<const int32_t> lengths, int64_t n, int64_t steps, const std::string& layer) {
  if (lengths.empty()) return steps;
  const int64_t length = lengths[static_cast<size_t>(n)];
  if (length < 1 || length > steps) {
    throw std::out_of_range(layer + ": sequence length " + std::to_string(length) + " of sample " + std::to_string(n) +
                            " is outside [1, " + std::to_string(steps) + "]");
  }
  return length;
}

void zero_padding(Tensor& x, int64_t steps, std::span<const int32_t> lengths, const std::string& layer) {
  if (lengths.empty()) return;
  const int64_t n = x.rows(), row = x.numel() / std::max<int64_t>(n * steps, 1);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t length = sequence_length(lengths, i, steps, layer);
    std::fill(x.data() + (i * steps + length) * row, x.data() + (i + 1) * steps * row, 0.0f);
  }
}

}  // namespace shardnet
