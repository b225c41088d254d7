#include "core/subset_source.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

#include "core/random.h"

namespace shardnet {

std::pair<std::vector<int64_t>, std::vector<int64_t>> split_rows(int64_t n, double fraction, uint64_t seed) {
  if (!(fraction > 0.0 && fraction < 1.0)) throw std::invalid_argument("val-fraction must be in (0, 1)");
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  CounterRng rng(seed, 0x5b117);
  for (int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[rng.below(static_cast<uint64_t>(i + 1))]);
  const auto validation = static_cast<int64_t>(std::llround(fraction * static_cast<double>(n)));
  if (validation == 0 || validation == n) throw std::invalid_argument("val-fraction leaves an empty split");
  std::vector<int64_t> train(order.begin(), order.end() - validation), val(order.end() - validation, order.end());
  std::sort(train.begin(), train.end());
  std::sort(val.begin(), val.end());
  return {std::move(train), std::move(val)};
}

}  // namespace shardnet
