#pragma once
// A view of some rows of another source, e.g. the training part of a train/validation split.
#include <cstdint>
#include <utility>
#include <vector>

#include "core/trainer.h"

namespace shardnet {

class SubsetSource : public BatchSource {
 public:
  SubsetSource(BatchSource& base, std::vector<int64_t> rows) : base_(base), rows_(std::move(rows)) {}
  int64_t size() const override { return static_cast<int64_t>(rows_.size()); }
  Shape sample_shape() const override { return base_.sample_shape(); }
  void read(std::span<const int64_t> rows, Batch& batch) override {
    mapped_.resize(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) mapped_[i] = rows_[static_cast<size_t>(rows[i])];
    base_.read(mapped_, batch);
  }

 private:
  BatchSource& base_;
  std::vector<int64_t> rows_;
  std::vector<int64_t> mapped_;
};

// Splits rows [0, n) by one seeded permutation: the last round(fraction * n) of it validate, the rest
// train (both sorted, so reads stay in file order). Returns {train rows, validation rows}.
std::pair<std::vector<int64_t>, std::vector<int64_t>> split_rows(int64_t n, double fraction, uint64_t seed);

}  // namespace shardnet
