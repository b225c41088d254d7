// Run under mpirun with 2 and 3 ranks: dist::CompressedSum (16-bit floats on the wire, float32
// sums, error feedback) against the exact sum, and a training run with it against one without.
#include "dist/compressed_sum.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/model_file.h"
#include "core/random.h"
#include "core/trainer.h"
#include "dist/gradient_sync.h"
#include "tests/dist/mpi_test_main.h"

namespace shardnet {
namespace {

dist::Communicator* world = nullptr;

// Rank r's value i: a pure function of (r, i), so every rank knows the exact sum.
float value_of(int rank, size_t i) {
  CounterRng rng(hash_key(static_cast<uint64_t>(rank) + 11, i));
  return (rng.uniform() - 0.5f) * std::ldexp(1.0f, static_cast<int>(i % 20) - 18);  // 2^-18 .. 2^1
}

double exact_sum(size_t i) {
  double sum = 0.0;
  for (int r = 0; r < world->size(); ++r) sum += value_of(r, i);
  return sum;
}

class CompressedSumTest : public ::testing::TestWithParam<dist::WireFormat> {
 protected:
  // Half an ulp at 1 (relative rounding), and the spacing below the normal range (absolute:
  // binary16's subnormals are 2^-24 apart; bfloat16's reach as far down as float32's).
  float unit() const { return GetParam() == dist::WireFormat::kBf16 ? 0x1p-8f : 0x1p-11f; }
  float floor() const { return GetParam() == dist::WireFormat::kBf16 ? 0.0f : 0x1p-24f; }
  // The rounding of N inputs and of their sum, `times` over.
  double bound(size_t i, double times) const {
    double largest = 0.0;
    for (int r = 0; r < world->size(); ++r) largest = std::max(largest, std::fabs(double{value_of(r, i)}));
    return times * (world->size() + 2) * (unit() * largest + floor());
  }
};

// One sum: every element within the rounding of N inputs and of the sum itself, relative to the
// largest input of the element (sums of opposite signs can cancel).
TEST_P(CompressedSumTest, OneSumIsWithinTheFormatsRounding) {
  const size_t n = 10007;  // not a multiple of the rank count
  std::vector<float> values(n);
  for (size_t i = 0; i < n; ++i) values[i] = value_of(world->rank(), i);
  dist::CompressedSum sum(GetParam());
  sum.start(*world, values);
  sum.wait();
  for (size_t i = 0; i < n; ++i) ASSERT_LE(std::fabs(values[i] - exact_sum(i)), bound(i, 2)) << "element " << i;
}

// The same values summed K times: with error feedback the K results add up to K exact sums within
// about one rounding, however large K is; without, the rounding of every sum would add up.
TEST_P(CompressedSumTest, ErrorFeedbackLosesNothingOverTheSteps) {
  const size_t n = 501;
  const int steps = 200;
  dist::CompressedSum sum(GetParam());
  std::vector<double> totals(n, 0.0);
  std::vector<float> values(n);
  for (int k = 0; k < steps; ++k) {
    for (size_t i = 0; i < n; ++i) values[i] = value_of(world->rank(), i);
    sum.start(*world, values);
    sum.progress();
    sum.wait();
    for (size_t i = 0; i < n; ++i) totals[i] += values[i];
  }
  double worst = 0.0;
  for (size_t i = 0; i < n; ++i) {
    // About one rounding of the inputs and of the sum, not `steps` of them.
    const double error = std::fabs(totals[i] - steps * exact_sum(i));
    worst = std::max(worst, error / bound(i, 4));
    ASSERT_LE(error, bound(i, 4)) << "element " << i;
  }
  if (world->rank() == 0) std::printf("worst accumulated error: %.3f of the bound\n", worst);
}

INSTANTIATE_TEST_SUITE_P(Formats, CompressedSumTest,
                         ::testing::Values(dist::WireFormat::kBf16, dist::WireFormat::kFp16),
                         [](const auto& info) { return info.param == dist::WireFormat::kBf16 ? "bf16" : "fp16"; });

class Blobs : public BatchSource {
 public:
  int64_t size() const override { return 64 * 12; }
  Shape sample_shape() const override { return {20}; }
  void read(std::span<const int64_t> rows, Batch& batch) override {
    batch.data.reshape({static_cast<int64_t>(rows.size()), 20});
    batch.labels.resize(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      CounterRng rng(hash_key(5, static_cast<uint64_t>(rows[i])));
      const int label = static_cast<int>(rng.below(5));
      batch.labels[i] = label;
      for (int64_t j = 0; j < 20; ++j) batch.data[static_cast<int64_t>(i) * 20 + j] = rng.uniform() + (j % 5 == label);
    }
  }
};

std::vector<float> train(Collective& collective) {
  auto net = parse_model(
      "[input] shape = 20\n[dense] outputs = 32\n[relu]\n[dense] outputs = 5\n[softmax_cross_entropy]\n", "model");
  net->initialize(3);
  OptimizerConfig oc;
  oc.kind = OptimizerKind::kMomentum;
  oc.momentum = 0.9f;
  auto optimizer = make_optimizer(oc);
  TrainOptions options;
  options.global_batch = 64;
  options.epochs = 3;
  options.lr.base = 0.05f;
  Blobs data;
  TrainObserver quiet;
  Trainer(*net, *optimizer, collective, options).fit(data, nullptr, quiet);
  std::vector<float> flat;
  for (Param* p : net->params()) flat.insert(flat.end(), p->value.span().begin(), p->value.span().end());
  return flat;
}

// 36 steps with 16-bit gradients on the wire stay close to the float32 run: the figure of the
// accuracy cost, and a bound that a sum without feedback or with a wrong chunk could not meet.
TEST_P(CompressedSumTest, TrainingStaysCloseToFloat32) {
  dist::GradientSync plain(*world);
  const auto reference = train(plain);
  // Small buckets: several sums in flight at once, whose gathers must start in one order everywhere.
  dist::GradientSync compressed(*world, 2048, GetParam());
  const auto got = train(compressed);
  double worst = 0.0, largest = 0.0;
  for (size_t i = 0; i < got.size(); ++i) {
    worst = std::max(worst, std::fabs(double{got[i]} - reference[i]));
    largest = std::max(largest, std::fabs(double{reference[i]}));
  }
  const double relative = worst / largest;
  if (world->rank() == 0) std::printf("max |compressed - float32| / max |float32| after 36 steps: %.2e\n", relative);
  EXPECT_LT(relative, GetParam() == dist::WireFormat::kBf16 ? 2e-2 : 3e-3);
}

}  // namespace
}  // namespace shardnet

int main(int argc, char** argv) { return shardnet::dist::run_tests_on_all_ranks(argc, argv, shardnet::world); }
