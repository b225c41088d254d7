#include "core/init.h"

#include <cmath>
#include <stdexcept>

#include "core/random.h"

namespace shardnet {

InitKind parse_init_kind(const std::string& name) {
  if (name == "he") return InitKind::kHe;
  if (name == "xavier" || name == "glorot") return InitKind::kXavier;
  if (name == "normal") return InitKind::kNormal;
  if (name == "pytorch") return InitKind::kPytorch;
  throw std::invalid_argument("unknown initialiser '" + name + "' (expected he, xavier, normal or pytorch)");
}

void initialize_weights(Tensor& w, const InitSpec& spec, int64_t fan_in, int64_t fan_out, uint64_t seed) {
  CounterRng rng(seed);
  switch (spec.kind) {
    case InitKind::kHe: {
      const float std = std::sqrt(2.0f / static_cast<float>(fan_in));
      for (float& v : w.span()) v = std * rng.normal();
      break;
    }
    case InitKind::kXavier: {
      const float limit = std::sqrt(6.0f / static_cast<float>(fan_in + fan_out));
      for (float& v : w.span()) v = rng.uniform(-limit, limit);
      break;
    }
    case InitKind::kNormal:
      for (float& v : w.span()) v = spec.std * rng.normal();
      break;
    case InitKind::kPytorch: {
      const float limit = 1.0f / std::sqrt(static_cast<float>(fan_in));
      for (float& v : w.span()) v = rng.uniform(-limit, limit);
      break;
    }
  }
}

}  // namespace shardnet
