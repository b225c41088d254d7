#pragma once
#include <span>
#include <vector>

#include "core/layer.h"

namespace shardnet {

// How ranks combine results. The default is one process: nothing to combine.
class Collective {
 public:
  virtual ~Collective() = default;
  virtual int rank() const { return 0; }
  virtual int world_size() const { return 1; }
  // Sums the gradients over ranks (each rank's are already scaled by 1 / global batch).
  virtual void sum_gradients(const std::vector<Param*>& params) {}
  // Element-wise sum over ranks, in place.
  virtual void sum(std::span<double> values) {}
};

}  // namespace shardnet
