#pragma once
// A mini-batch: inputs and their targets, either class ids or real-valued targets.
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace shardnet {

struct Batch {
  Tensor data;                   // (n, ...) inputs
  std::vector<int32_t> labels;   // (n) class ids, for classification losses
  Tensor targets;                // (n, ...) real targets, for regression losses
  std::vector<int64_t> rows;     // data-set index of each sample: keys per-sample randomness
  std::vector<int32_t> lengths;  // (n) true lengths of padded sequences; empty: every step is real
  int64_t epoch = 0;
  int64_t size() const { return data.rows(); }
};

}  // namespace shardnet
