// Run under mpirun with 2 and 3 ranks: GradientSync sums the gradients of whatever parameters it
// is given, not only one Net's: two parameter sets of different sizes alternate on one sync (a GAN's
// generator and discriminator), across several buckets, and each sum is the exact sum over ranks.
#include "dist/gradient_sync.h"

#include <gtest/gtest.h>

#include "tests/dist/mpi_test_main.h"

namespace shardnet {
namespace {

dist::Communicator* world = nullptr;

// Rank r's gradient value i of set `set`: small integers, so every float sum is exact.
float value_of(int rank, int set, int64_t i) { return static_cast<float>((rank + 1) * (set + 2) + i % 7); }

std::vector<Param> parameter_set(int set, std::initializer_list<int64_t> sizes) {
  std::vector<Param> params;
  int k = 0;
  for (int64_t n : sizes)
    params.push_back(Param::weight("set" + std::to_string(set) + "/p" + std::to_string(k++), {n}));
  return params;
}

void fill(std::vector<Param>& params, int set, int round) {
  for (Param& p : params) {
    for (int64_t i = 0; i < p.grad.numel(); ++i)
      p.grad[i] = value_of(world->rank(), set, i) + static_cast<float>(round);
  }
}

void expect_summed(const std::vector<Param>& params, int set, int round) {
  for (const Param& p : params) {
    for (int64_t i = 0; i < p.grad.numel(); ++i) {
      double sum = 0.0;
      for (int r = 0; r < world->size(); ++r) sum += value_of(r, set, i) + round;
      ASSERT_EQ(p.grad[i], static_cast<float>(sum)) << p.name << "[" << i << "], round " << round;
    }
  }
}

TEST(GradientSync, SumsAnyParameterSetsAlternatingOnOneSync) {
  std::vector<Param> first = parameter_set(0, {1000, 3, 5000}), second = parameter_set(1, {20000, 30000, 9});
  std::vector<Param*> first_ptrs, second_ptrs;
  for (Param& p : first) first_ptrs.push_back(&p);
  for (Param& p : second) second_ptrs.push_back(&p);
  dist::GradientSync sync(*world, 16 << 10);  // 16 KiB buckets: the second set needs three
  for (int round = 0; round < 3; ++round) {
    fill(first, 0, round);
    sync.sum_gradients(first_ptrs);
    expect_summed(first, 0, round);
    fill(second, 1, round);
    sync.sum_gradients(second_ptrs);
    expect_summed(second, 1, round);
  }
  EXPECT_GT(sync.bucket_count(), 2u);
}

}  // namespace
}  // namespace shardnet

int main(int argc, char** argv) { return shardnet::dist::run_tests_on_all_ranks(argc, argv, shardnet::world); }
