#include "core/recurrent.h"

#include <gtest/gtest.h>

#include "core/dense.h"
#include "core/loss.h"
#include "tests/gradient_checker.h"

namespace shardnet {
namespace {

constexpr int64_t kBatch = 3, kSteps = 5, kFeatures = 4, kHidden = 3;
const std::vector<int64_t> kRows = {10, 11, 12};
const std::vector<int32_t> kLengths = {5, 2, 4};

struct Case {
  CellKind kind;
  bool bidirectional;
  bool masked;
  bool last;
};

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  const Case& c = info.param;
  const char* kind = c.kind == CellKind::kRnn ? "rnn" : c.kind == CellKind::kLstm ? "lstm" : "gru";
  return std::string(kind) + (c.bidirectional ? "_bi" : "_uni") + (c.masked ? "_masked" : "_full") +
         (c.last ? "_last" : "_sequence");
}

class RecurrentGradients : public ::testing::TestWithParam<Case> {};

// Two stacked layers with dropout between them (a fixed mask: it is a function of the step context).
TEST_P(RecurrentGradients, MatchFiniteDifferences) {
  const Case& c = GetParam();
  RecurrentConfig config{c.kind, kHidden, 2, c.bidirectional, !c.last, 0.25f};
  Recurrent layer("rec", config);
  layer.setup({kSteps, kFeatures});
  layer.initialize(7);
  StepContext context{3, 1, kRows, nullptr, c.masked ? std::span<const int32_t>(kLengths) : std::span<const int32_t>()};
  layer.bind(&context);
  testing::GradientCheckOptions options;
  options.max_checks = 60;
  testing::check_layer_gradients(layer, testing::random_tensor({kBatch, kSteps, kFeatures}, 5), Mode::kTrain, options);
}

INSTANTIATE_TEST_SUITE_P(
    Cells, RecurrentGradients,
    ::testing::Values(Case{CellKind::kRnn, false, false, false}, Case{CellKind::kRnn, true, true, true},
                      Case{CellKind::kRnn, false, true, false}, Case{CellKind::kLstm, false, false, true},
                      Case{CellKind::kLstm, true, true, false}, Case{CellKind::kLstm, true, false, true},
                      Case{CellKind::kLstm, false, true, true}, Case{CellKind::kGru, false, false, false},
                      Case{CellKind::kGru, true, true, true}, Case{CellKind::kGru, true, true, false},
                      Case{CellKind::kGru, false, true, true}),
    case_name);

// Padding never changes a result: a sample of length 2 padded to 5 with garbage gives the outputs of
// the same 2 steps run alone, zeros past its length, and no gradient into the padding.
TEST(Recurrent, PaddingChangesNothing) {
  for (CellKind kind : {CellKind::kRnn, CellKind::kLstm, CellKind::kGru}) {
    RecurrentConfig config{kind, kHidden, 2, true, true, 0.0f};
    Recurrent padded("rec", config), alone("rec", config);
    padded.setup({kSteps, kFeatures});
    alone.setup({2, kFeatures});
    padded.initialize(3);
    alone.initialize(3);
    const std::vector<int32_t> length = {2};
    const std::vector<int64_t> row = {0};
    StepContext masked{1, 0, row, nullptr, length}, full{1, 0, row, nullptr, {}};
    padded.bind(&masked);
    alone.bind(&full);
    Tensor x = testing::random_tensor({1, kSteps, kFeatures}, 9, -5.0f, 5.0f), x2({1, 2, kFeatures});
    std::copy_n(x.data(), 2 * kFeatures, x2.data());
    Tensor y, y2;
    padded.forward(x, y, Mode::kEval);
    alone.forward(x2, y2, Mode::kEval);
    const int64_t width = 2 * kHidden;
    for (int64_t i = 0; i < 2 * width; ++i) EXPECT_NEAR(y[i], y2[i], 1e-6) << "output " << i;
    for (int64_t i = 2 * width; i < y.numel(); ++i) EXPECT_EQ(y[i], 0.0f) << "padding output " << i;
    Tensor dy = testing::random_tensor(y.shape(), 4), dx;
    padded.backward(x, y, dy, &dx);
    for (int64_t i = 2 * kFeatures; i < dx.numel(); ++i) EXPECT_EQ(dx[i], 0.0f) << "gradient into padding " << i;
  }
}

TEST(Recurrent, ParameterNamesAndShapesFollowPyTorch) {
  Recurrent gru("g", RecurrentConfig{CellKind::kGru, 8, 2, true, true, 0.0f});
  EXPECT_EQ(gru.setup({7, 5}), (Shape{7, 16}));
  const auto params = gru.params();
  ASSERT_EQ(params.size(), 16u);
  EXPECT_EQ(params[0]->name, "g/weight_ih_l0");
  EXPECT_EQ(params[0]->value.shape(), (Shape{24, 5}));
  EXPECT_EQ(params[5]->name, "g/weight_hh_l0_reverse");
  EXPECT_EQ(params[8]->value.shape(), (Shape{24, 16}));  // layer 1 reads both directions
  Recurrent lstm("l", RecurrentConfig{CellKind::kLstm, 8, 1, false, false, 0.0f});
  EXPECT_EQ(lstm.setup({7, 5}), (Shape{8}));
  EXPECT_EQ(lstm.params()[1]->value.shape(), (Shape{32, 8}));
  EXPECT_THROW(lstm.setup({35}), ShapeError);
}

TEST(Recurrent, LengthOutsideTheSequenceIsAnError) {
  Recurrent rnn("r", RecurrentConfig{CellKind::kRnn, 2, 1, false, true, 0.0f});
  rnn.setup({3, 2});
  const std::vector<int32_t> bad = {4};
  const std::vector<int64_t> row = {0};
  StepContext context{1, 0, row, nullptr, bad};
  rnn.bind(&context);
  Tensor x({1, 3, 2}), y;
  x.zero();
  EXPECT_THROW(rnn.forward(x, y, Mode::kEval), std::out_of_range);
}

TEST(Embedding, GradientsTouchOnlyTheRowsUsed) {
  Embedding embedding("emb", 10, 4);
  EXPECT_EQ(embedding.setup({kSteps}), (Shape{kSteps, 4}));
  embedding.initialize(2);
  StepContext context{1, 0, kRows, nullptr, kLengths};
  embedding.bind(&context);
  Tensor ids({kBatch, kSteps});
  for (int64_t i = 0; i < ids.numel(); ++i) ids[i] = static_cast<float>((i * 3) % 7 + 1);  // ids 1..7
  testing::GradientCheckOptions options;
  options.check_input = false;
  testing::check_layer_gradients(embedding, ids, Mode::kTrain, options);
  Tensor y, dx;
  embedding.forward(ids, y, Mode::kTrain);
  Tensor dy = testing::random_tensor(y.shape(), 1);
  embedding.backward(ids, y, dy, &dx);
  const Tensor& grad = embedding.params()[0]->grad;
  for (int64_t id : {0, 8, 9}) {
    for (int64_t j = 0; j < 4; ++j) EXPECT_EQ(grad[id * 4 + j], 0.0f) << "unused row " << id;
  }
  // Sample 1 has length 2: its steps 2..4 are zero vectors.
  for (int64_t j = (1 * kSteps + 2) * 4; j < 2 * kSteps * 4; ++j) EXPECT_EQ(y[j], 0.0f);
}

TEST(Embedding, IdOutsideTheVocabularyNamesTheLayer) {
  Embedding embedding("words", 5, 2);
  embedding.setup({2});
  Tensor ids({1, 2}), y;
  ids[0] = 1.0f;
  ids[1] = 5.0f;
  try {
    embedding.forward(ids, y, Mode::kEval);
    FAIL() << "no error";
  } catch (const std::out_of_range& e) {
    EXPECT_NE(std::string(e.what()).find("words: token id 5"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("vocabulary of 5"), std::string::npos) << e.what();
  }
}

TEST(Dense, PerStepMapsEveryStepAndZeroesPadding) {
  Dense dense("out", 2, true, InitSpec{}, true);
  EXPECT_EQ(dense.setup({kSteps, kFeatures}), (Shape{kSteps, 2}));
  dense.initialize(4);
  StepContext context{1, 0, kRows, nullptr, kLengths};
  dense.bind(&context);
  testing::check_layer_gradients(dense, testing::random_tensor({kBatch, kSteps, kFeatures}, 6));
  Tensor y;
  dense.forward(testing::random_tensor({kBatch, kSteps, kFeatures}, 6), y, Mode::kEval);
  for (int64_t j = (1 * kSteps + 2) * 2; j < 2 * kSteps * 2; ++j) EXPECT_EQ(y[j], 0.0f);
}

TEST(SigmoidCrossEntropy, GradientsAndStabilityWithLabelsAndTargets) {
  SigmoidCrossEntropy loss;
  loss.setup({1});
  Batch labelled;
  labelled.labels = {0, 1, 1, 0};
  testing::check_loss_gradients(loss, testing::random_tensor({4, 1}, 3, -3.0f, 3.0f), labelled, 0.25f);
  Batch targets;
  targets.targets = testing::random_tensor({2, 3}, 4, 0.0f, 1.0f);
  loss.setup({3});
  testing::check_loss_gradients(loss, testing::random_tensor({2, 3}, 5, -3.0f, 3.0f), targets, 1.0f);
  // Huge logits: finite loss, the right value (|z| for the wrong side, ~0 for the right one).
  loss.setup({1});
  Tensor z({2, 1});
  z[0] = 100.0f;
  z[1] = -100.0f;
  Batch wrong;
  wrong.labels = {0, 0};
  const LossStats s = loss.forward(z, wrong);
  EXPECT_NEAR(s.loss_sum, 100.0, 1e-4);
  EXPECT_EQ(s.correct, 1);
  Batch bad;
  bad.labels = {2, 0};
  EXPECT_THROW(loss.forward(z, bad), std::out_of_range);
}

}  // namespace
}  // namespace shardnet
