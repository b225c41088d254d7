// Exact mode (TrainOptions::exact_grain) under mpirun at 1, 2, 3, 4 and 6 ranks: 30 steps (across
// an epoch boundary, with a test set scored after each epoch) give bytes identical to one
// process's: parameters, buffers, optimizer slots, and every epoch's training and test scores.
// Global batch 96 (6 grains of 16: whole grains at 1, 2, 3 and 6 ranks), 128 at 4 ranks.
#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "core/model_file.h"
#include "core/trainer.h"
#include "dist/gradient_sync.h"
#include "tests/dist/mpi_test_main.h"
#include "tests/dist/training_fixtures.h"

namespace shardnet {
namespace {

dist::Communicator* world = nullptr;
constexpr int64_t kGrain = 16;

struct Scores : TrainObserver {
  std::vector<double> values;
  void on_epoch(const EpochReport& r) override {
    values.insert(values.end(), {r.train_loss, r.train_accuracy, r.test_loss, r.test_accuracy});
  }
};

// Everything a checkpoint keeps, as bytes, and the epochs' scores.
struct Outcome {
  std::vector<float> params, buffers, optimizer;
  std::vector<double> scores;
};

void append(std::vector<float>& out, const Tensor& t) { out.insert(out.end(), t.span().begin(), t.span().end()); }

Outcome train(const char* model, const std::string& optimizer, Collective& collective, int64_t batch,
              Precision precision) {
  auto net = parse_model(model, "model");
  net->initialize(5);
  auto opt = test_optimizer(optimizer);
  TrainOptions options;
  options.global_batch = batch;
  options.epochs = 3;
  options.max_steps = 30;
  options.exact_grain = kGrain;
  options.precision = precision;
  options.lr.base = optimizer == "adam" ? 1e-3f : 0.01f;
  const int64_t rows = batch * 20 + 17, test_rows = 100;  // 20 steps per epoch; 100 = 6 grains + 4
  const bool token_model = net->input_shape().size() == 1;
  SyntheticImages images(rows, net->input_shape()), test_images(test_rows, net->input_shape());
  SyntheticTokens tokens(rows), test_tokens(test_rows);
  BatchSource& data = token_model ? static_cast<BatchSource&>(tokens) : images;
  BatchSource& test = token_model ? static_cast<BatchSource&>(test_tokens) : test_images;
  Scores scores;
  Trainer(*net, *opt, collective, options).fit(data, &test, scores);
  Outcome out;
  for (Param* p : net->params()) append(out.params, p->value);
  for (Buffer* b : net->buffers()) append(out.buffers, b->value);
  for (auto& [name, slots] : opt->state())
    for (auto& [slot, tensor] : slots) append(out.optimizer, tensor);
  out.scores = scores.values;
  return out;
}

// How many values differ in their bits (0: the byte-identical result the test asks for).
size_t differing(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return std::max(a.size(), b.size());
  size_t n = 0;
  for (size_t i = 0; i < a.size(); ++i) n += std::bit_cast<uint32_t>(a[i]) != std::bit_cast<uint32_t>(b[i]) ? 1 : 0;
  return n;
}

void expect_bitwise_equal(const char* name, const char* model, const std::string& optimizer,
                          Precision precision = Precision::kFp32) {
  const int64_t batch = world->size() == 4 ? 128 : 96;
  Collective single;
  const Outcome reference = train(model, optimizer, single, batch, precision);
  dist::GradientSync sync(*world);
  const Outcome distributed = train(model, optimizer, sync, batch, precision);
  const size_t params = differing(distributed.params, reference.params);
  const size_t buffers = differing(distributed.buffers, reference.buffers);
  const size_t slots = differing(distributed.optimizer, reference.optimizer);
  if (world->rank() == 0) {
    std::printf(
        "%s (%s, batch %lld, grain %lld) at %d rank(s): %zu of %zu parameters, %zu of %zu buffer values, "
        "%zu of %zu optimizer values differ from one process's\n",
        name, optimizer.c_str(), static_cast<long long>(batch), static_cast<long long>(kGrain), world->size(), params,
        reference.params.size(), buffers, reference.buffers.size(), slots, reference.optimizer.size());
  }
  EXPECT_EQ(params, 0u);
  EXPECT_EQ(buffers, 0u);
  EXPECT_EQ(slots, 0u);
  EXPECT_FALSE(reference.optimizer.empty());
  ASSERT_EQ(distributed.scores.size(), 8u);  // 2 epochs of 4 scores (the third is cut by max_steps)
  for (size_t i = 0; i < 8; ++i) {
    EXPECT_EQ(std::bit_cast<uint64_t>(distributed.scores[i]), std::bit_cast<uint64_t>(reference.scores[i]))
        << "score " << i << " (epoch " << i / 4 + 1 << "): " << distributed.scores[i] << " vs " << reference.scores[i];
  }
}

TEST(ExactMode, MlpSgdMomentum) { expect_bitwise_equal("MLP", kMlp, "momentum"); }
TEST(ExactMode, MlpAdam) { expect_bitwise_equal("MLP", kMlp, "adam"); }
TEST(ExactMode, CnnSyncBatchNormDropoutAugmentSgdMomentum) {
  expect_bitwise_equal("CNN+SyncBN+dropout+augment", kCnnBnDropout, "momentum");
}
TEST(ExactMode, CnnSyncBatchNormDropoutAugmentAdam) {
  expect_bitwise_equal("CNN+SyncBN+dropout+augment", kCnnBnDropout, "adam");
}
TEST(ExactMode, DecoderLayersHingeAdam) { expect_bitwise_equal("decoder+hinge", kDecoderHinge, "adam"); }
// bf16 rounds every GEMM operand element by element, and exact mode computes each grain alone: the
// same grains give the same rounded operands at any rank count, so bf16 runs are byte-identical too.
TEST(ExactMode, CnnSyncBatchNormDropoutAugmentAdamBf16) {
  expect_bitwise_equal("CNN+SyncBN+dropout+augment bf16", kCnnBnDropout, "adam", Precision::kBf16);
}
TEST(ExactMode, RowLstmAdamBf16) { expect_bitwise_equal("row-by-row LSTM bf16", kRowLstm, "adam", Precision::kBf16); }
TEST(ExactMode, RowLstmSgdMomentum) { expect_bitwise_equal("row-by-row LSTM", kRowLstm, "momentum"); }
TEST(ExactMode, RowLstmAdam) { expect_bitwise_equal("row-by-row LSTM", kRowLstm, "adam"); }
TEST(ExactMode, MaskedBidirectionalGruSgdMomentum) {
  expect_bitwise_equal("masked BiGRU+dropout", kTokenGru, "momentum");
}
TEST(ExactMode, MaskedBidirectionalGruAdam) { expect_bitwise_equal("masked BiGRU+dropout", kTokenGru, "adam"); }

// A batch that does not split into whole grains on every rank is refused, naming the numbers.
TEST(ExactMode, RefusesABatchOfPartGrains) {
  auto net = parse_model(kMlp, "model");
  auto opt = make_optimizer(OptimizerConfig{});
  TrainOptions options;
  options.global_batch = 40;
  options.exact_grain = kGrain;
  dist::GradientSync sync(*world);
  try {
    Trainer trainer(*net, *opt, sync, options);
    FAIL() << "accepted a batch of 40 in grains of 16";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("not a multiple of grain 16"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace shardnet

int main(int argc, char** argv) { return shardnet::dist::run_tests_on_all_ranks(argc, argv, shardnet::world); }
