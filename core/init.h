#pragma once
// Weight initialisers. fan_in / fan_out are the number of inputs / outputs each unit connects to.
#include <cstdint>
#include <string>

#include "core/tensor.h"

namespace shardnet {

enum class InitKind {
  kHe,       // normal, std = sqrt(2 / fan_in)            (He et al. 2015, for ReLU nets)
  kXavier,   // uniform, limit = sqrt(6 / (fan_in + fan_out))  (Glorot & Bengio 2010)
  kNormal,   // normal, the given std
  kPytorch,  // uniform, limit = 1 / sqrt(fan_in): PyTorch's default for Linear and Conv2d
};

struct InitSpec {
  InitKind kind = InitKind::kHe;
  float std = 0.01f;  // kNormal only
};

InitKind parse_init_kind(const std::string& name);  // "he" | "xavier" | "normal" | "pytorch"
void initialize_weights(Tensor& w, const InitSpec& spec, int64_t fan_in, int64_t fan_out, uint64_t seed);

}  // namespace shardnet
