#include "core/layer_registry.h"

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <set>

#include "core/model_file.h"
#include "tests/gradient_checker.h"

namespace shardnet {
namespace {

// Types whose gradient is checked differently, with the reason. Nothing else may be exempt.
const std::map<std::string, std::string>& gradient_exemptions() {
  static const std::map<std::string, std::string> exempt = {
      {"embedding", "inputs are token ids: no input gradient (the table's gradient is checked)"},
      {"skipgram", "inputs are token ids: no input gradient (both tables' gradients are checked)"},
  };
  return exempt;
}

LayerOptions example_options(const LayerType& type) {
  LayerOptions options;
  for (const OptionSpec& spec : type.options) {
    std::optional<std::string> value = spec.default_value;
    for (const auto& [key, given] : type.example.options)
      if (key == spec.key) value = given;
    EXPECT_TRUE(value.has_value()) << type.name << ": the example gives no value for the required '" << spec.key << "'";
    if (value) options.set(spec, *value);
  }
  return options;
}

constexpr int64_t kBatch = 3;

Tensor example_input(const LayerType& type) {
  Shape shape = type.example.shape;
  shape.insert(shape.begin(), kBatch);
  if (type.example.token_vocab == 0) return testing::distinct_tensor(shape, 7, 0.05f);
  Tensor ids(shape);
  for (int64_t i = 0; i < ids.numel(); ++i) ids[i] = static_cast<float>(i % type.example.token_vocab);
  return ids;
}

std::string example_shape(const LayerType& type) {
  std::string shape;
  for (int64_t d : type.example.shape) {
    if (!shape.empty()) shape += ',';
    shape += std::to_string(d);
  }
  return shape;
}

std::string example_section(const LayerType& type) {
  std::string text = "[" + type.name + "]";
  for (const auto& [key, value] : type.example.options) text += " " + key + " = " + value;
  return text + "\n";
}

// A layer that needs earlier ones (maxunpool and its maxpool): built after them in a Net, fed what
// they put out for the example input (which they ran on, as in training), checked on its own.
void check_layer_after_its_partners(const LayerType& type) {
  auto net = parse_model("[input] shape = " + example_shape(type) + "\n" + type.example.preceding + "\n" +
                             example_section(type) + "[flatten]\n[mse]\n",
                         "example.cfg");
  net->initialize(3);
  Tensor x = example_input(type);
  const size_t under_test = net->size() - 2;
  for (size_t i = 0; i < under_test; ++i) {
    Tensor y;
    net->layer(i).forward(x, y, Mode::kTrain);
    x = y;
  }
  Layer& layer = net->layer(under_test);
  EXPECT_EQ(layer.type(), type.name);
  Tensor y;
  layer.forward(x, y, Mode::kTrain);
  Shape expected = net->shape_after(under_test);
  expected.insert(expected.begin(), kBatch);
  EXPECT_EQ(y.shape(), expected) << "forward's output differs from setup's shape";
  testing::check_layer_gradients(layer, x, Mode::kTrain);
}

void check_layer_type(const LayerType& type) {
  SCOPED_TRACE("[" + type.name + "]");
  if (!type.example.preceding.empty()) return check_layer_after_its_partners(type);
  auto layer = type.make_layer("under_test", example_options(type));
  ASSERT_NE(layer, nullptr);
  EXPECT_EQ(layer->type(), type.name) << "the registry key must equal the layer's type()";
  const Shape out = layer->setup(type.example.shape);
  layer->initialize(3);
  // Randomness (dropout masks, augmentation) is keyed by the step context: fixed here, so every
  // forward of the finite differences draws the same masks.
  std::vector<int64_t> rows = {4, 9, 2};
  StepContext context{11, 1, rows, nullptr, {}};
  layer->bind(&context);
  Tensor x = example_input(type);
  Tensor y;
  layer->forward(x, y, Mode::kTrain);
  Shape expected = out;
  expected.insert(expected.begin(), kBatch);
  EXPECT_EQ(y.shape(), expected) << "forward's output differs from setup's shape";
  testing::GradientCheckOptions check;
  check.check_input = gradient_exemptions().count(type.name) == 0;
  EXPECT_EQ(check.check_input, type.example.token_vocab == 0) << "token inputs need an exemption, and only they";
  testing::check_layer_gradients(*layer, x, Mode::kTrain, check);
  Tensor eval;
  layer->forward(x, eval, Mode::kEval);
  EXPECT_EQ(eval.shape(), expected);
}

void check_loss_type(const LayerType& type) {
  SCOPED_TRACE("[" + type.name + "] (loss)");
  auto loss = type.make_loss(example_options(type));
  ASSERT_NE(loss, nullptr);
  EXPECT_EQ(loss->type(), type.name) << "the registry key must equal the loss's type()";
  loss->setup(type.example.shape);
  Shape shape = type.example.shape;
  shape.insert(shape.begin(), kBatch);
  Batch batch;
  batch.data = Tensor(shape);
  const int64_t outputs = shape_numel(type.example.shape);
  // Class ids where the loss takes them for this output shape, float targets in [0, 1] otherwise.
  DataDescription labels{"example", type.example.shape, true, std::min<int64_t>(outputs, 2), {}, 0, {}};
  bool takes_labels = true;
  try {
    loss->check_targets(labels, type.example.shape);
  } catch (const std::invalid_argument&) {
    takes_labels = false;
  }
  if (takes_labels) {
    for (int64_t i = 0; i < kBatch; ++i) batch.labels.push_back(static_cast<int32_t>(i % labels.num_classes));
  } else {
    batch.targets = testing::random_tensor(shape, 5, 0.0f, 1.0f);
  }
  testing::check_loss_gradients(*loss, testing::random_tensor(shape, 9, -2.0f, 2.0f), batch, 1.0f / kBatch);
}

TEST(LayerRegistry, EveryTypeBuildsRunsAndHasTheRightGradients) {
  const LayerRegistry& registry = LayerRegistry::instance();
  ASSERT_GE(registry.types().size(), 23u);
  for (const LayerType& type : registry.types()) {
    if (type.is_loss())
      check_loss_type(type);
    else
      check_layer_type(type);
  }
  for (const auto& [name, reason] : gradient_exemptions()) {
    EXPECT_NE(registry.find(name), nullptr) << "exemption for a type that no longer exists: " << name;
  }
}

TEST(LayerRegistry, EveryTypeParsesFromAModelFileWithItsDocumentedDefaults) {
  for (const LayerType& type : LayerRegistry::instance().types()) {
    SCOPED_TRACE(type.name);
    std::string text = "[input] shape = " + example_shape(type) + "\n" + type.example.preceding + "\n";
    text += example_section(type);
    if (!type.is_loss()) text += "[flatten]\n[mse]\n";
    auto net = parse_model(text, "example.cfg");
    const size_t before = type.example.preceding.empty() ? 0 : net->size() - 2;
    EXPECT_EQ(net->size(), type.is_loss() ? 0u : before + 2);
    if (!type.is_loss()) {
      EXPECT_EQ(net->layer(before).type(), type.name);
    }
  }
}

TEST(LayerRegistry, OptionsAreCheckedAgainstTheirKindAndRange) {
  const LayerType* conv = LayerRegistry::instance().find("conv");
  ASSERT_NE(conv, nullptr);
  LayerOptions options;
  auto spec = [&](const std::string& key) {
    for (const OptionSpec& s : conv->options)
      if (s.key == key) return s;
    throw std::logic_error("no option " + key);
  };
  EXPECT_THROW(options.set(spec("size"), "0"), std::invalid_argument);
  EXPECT_THROW(options.set(spec("size"), "3.5"), std::invalid_argument);
  EXPECT_THROW(options.set(spec("bias"), "2"), std::invalid_argument);
  EXPECT_THROW(options.set(spec("algo"), "fft"), std::invalid_argument);
  options.set(spec("size"), "5");
  EXPECT_EQ(options.integer("size"), 5);
  EXPECT_THROW(options.integer("stride"), std::logic_error);  // never set: a factory bug, not user input
}

TEST(LayerRegistry, TheReadmeTableIsTheGeneratedOne) {
  const std::string table = layers_markdown_table(LayerRegistry::instance());
  std::string readme = read_text_file(std::string(SHARDNET_SOURCE_DIR) + "/README.md");
  EXPECT_NE(readme.find(table), std::string::npos)
      << "README.md's layer table is out of date: regenerate it with `shardnet layers --markdown`:\n"
      << table;
}

// y = x / 100, with the gradient of one element off by `error`: gradients below 0.01, where the
// old absolute tolerance of 1e-2 let any error of that size through.
class SlightlyWrong : public Layer {
 public:
  explicit SlightlyWrong(float error) : Layer("wrong"), error_(error) {}
  std::string type() const override { return "wrong"; }
  Shape setup(const Shape& input) override { return input; }
  void forward(const Tensor& x, Tensor& y, Mode) override {
    y = x;
    for (float& v : y.span()) v *= 0.01f;
  }
  void backward(const Tensor&, const Tensor&, const Tensor& dy, Tensor* dx) override {
    *dx = dy;
    for (float& v : dx->span()) v *= 0.01f;
    (*dx)[3] += error_;
  }

 private:
  float error_;
};

TEST(GradientChecker, CatchesAWrongGradientOfAFewThousandths) {
  SlightlyWrong right(0.0f), wrong(0.004f);
  const Tensor x = testing::random_tensor({4, 6}, 1);
  testing::check_layer_gradients(right, x);
  EXPECT_NONFATAL_FAILURE(testing::check_layer_gradients(wrong, x), "wrong dx[3]");
}

TEST(LayerRegistry, NamesAreUnique) {
  std::set<std::string> names;
  for (const LayerType& type : LayerRegistry::instance().types()) EXPECT_TRUE(names.insert(type.name).second);
  EXPECT_EQ(names.count("input"), 0u) << "[input] is the parser's own section";
}

}  // namespace
}  // namespace shardnet
