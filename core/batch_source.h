#pragma once
// Where training batches come from, and what a data set holds as far as a model cares.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/batch.h"

namespace shardnet {

// Checked against a model before training (Net::check_data): one line names what does not fit.
struct DataDescription {
  std::string source;               // the file, for messages
  Shape sample_shape;               // per-sample input shape
  bool class_labels = false;        // int32 class ids; else float targets of target_shape
  int64_t num_classes = 0;          // with class labels: the largest id + 1
  Shape target_shape;               // float targets only
  int64_t vocab_size = 0;           // tokens in the data set's vocabulary (0: not token data)
  std::vector<float> token_counts;  // how often each vocabulary token occurs (empty: not recorded)
};

class BatchSource {
 public:
  virtual ~BatchSource() = default;
  virtual int64_t size() const = 0;
  virtual Shape sample_shape() const = 0;
  // Fills `batch` with the given rows, in the given order. May run on a background thread, but
  // never concurrently with another call on the same source.
  virtual void read(std::span<const int64_t> rows, Batch& batch) = 0;
};

}  // namespace shardnet
