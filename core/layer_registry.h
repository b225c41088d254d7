#pragma once
// Every layer and loss type describes itself where it is defined: its model-file name, a one-line
// doc, its options (kind, default, range, doc) and its factory. The model-file parser, `shardnet
// layers`, the README's layer table and the test that builds and gradient-checks every type all
// read this registry.
//
// A layer source registers its types in a block
//   SHARDNET_REGISTER_LAYERS(dense) { registry.add(LayerType{...}); }
// The build finds these blocks (core/CMakeLists.txt scans core/*.cc) and calls each one when the
// registry is first used, so no central list names them (and no static-initialisation order or
// linker dropping of unreferenced objects can lose one).
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/init.h"
#include "core/layer.h"
#include "core/loss.h"

namespace shardnet {

enum class OptionKind { kInt, kFloat, kBool, kChoice, kFloatList, kIntList, kString };

struct OptionSpec {
  std::string key;
  OptionKind kind = OptionKind::kInt;
  std::optional<std::string> default_value;  // nullopt: the option is required
  double min = -std::numeric_limits<double>::infinity();
  double max = std::numeric_limits<double>::infinity();
  std::vector<std::string> choices;  // kChoice only
  std::string doc;
};

OptionSpec int_option(std::string key, std::optional<int64_t> fallback, int64_t min, int64_t max, std::string doc);
OptionSpec float_option(std::string key, float fallback, double min, double max, std::string doc);
OptionSpec bool_option(std::string key, bool fallback, std::string doc);
OptionSpec choice_option(std::string key, std::vector<std::string> choices, std::string fallback, std::string doc);
OptionSpec float_list_option(std::string key, std::string doc);  // optional, empty by default
// Integers separated by commas, each in [min, max]; required.
OptionSpec int_list_option(std::string key, int64_t min, int64_t max, std::string doc);
// Free text (a name); nullopt: required.
OptionSpec string_option(std::string key, std::optional<std::string> fallback, std::string doc);
// `init` and `std`: the weight initialiser of dense and conv layers.
std::vector<OptionSpec> weight_init_options();
InitSpec weight_init(const class LayerOptions& options);
constexpr int64_t kNoLimit = std::numeric_limits<int32_t>::max();

// The checked values of one model-file section: every option of its type, given or defaulted.
class LayerOptions {
 public:
  int64_t integer(const std::string& key) const;
  float number(const std::string& key) const;
  bool flag(const std::string& key) const;
  const std::string& choice(const std::string& key) const;
  std::vector<float> numbers(const std::string& key) const;
  std::vector<int64_t> integers(const std::string& key) const;
  const std::string& text(const std::string& key) const;
  // Stores `text` for `spec` after checking it; throws std::invalid_argument naming the key.
  void set(const OptionSpec& spec, const std::string& text);

 private:
  const std::string& raw(const std::string& key) const;
  std::map<std::string, std::string> values_;
};

// How the all-types test feeds a layer: a per-sample input shape it accepts and what the values are.
struct ExampleInput {
  ExampleInput(Shape input = {}, std::vector<std::pair<std::string, std::string>> required = {}, int64_t vocab = 0,
               std::string before = {})
      : shape(std::move(input)), options(std::move(required)), token_vocab(vocab), preceding(std::move(before)) {}
  Shape shape;
  std::vector<std::pair<std::string, std::string>> options;  // values for the required options
  int64_t token_vocab = 0;  // > 0: the inputs are token ids below this (no input gradient)
  // Model-file sections the layer needs before it (maxunpool's maxpool); `shape` is their input.
  std::string preceding;
};

struct LayerType {
  std::string name;  // the model-file section, equal to the built object's type()
  std::string doc;
  std::vector<OptionSpec> options;
  // Exactly one of the two factories is set.
  std::function<std::unique_ptr<Layer>(const std::string& name, const LayerOptions&)> make_layer;
  std::function<std::unique_ptr<Loss>(const LayerOptions&)> make_loss;
  ExampleInput example;
  bool is_loss() const { return static_cast<bool>(make_loss); }
};

class LayerRegistry {
 public:
  // The registry with every type the build found (filled on first use).
  static const LayerRegistry& instance();
  void add(LayerType type);
  const LayerType* find(const std::string& name) const;
  const std::vector<LayerType>& types() const { return types_; }  // in name order
  // Options every layer (not loss) section takes besides its own: name, lr_mult, decay_mult.
  static const std::vector<OptionSpec>& common_options();

 private:
  std::vector<LayerType> types_;
};

// "a, b, c": the registered names, for error messages.
std::string registered_type_names(const LayerRegistry& registry);
// The registry as text (`shardnet layers`) or as the README's Markdown table.
std::string describe_layers(const LayerRegistry& registry);
std::string layers_markdown_table(const LayerRegistry& registry);
// "1 (0 to 2147483647)", "required", "auto (auto | gemm | winograd)": an option's default and range.
std::string describe_default(const OptionSpec& spec);

}  // namespace shardnet

#define SHARDNET_REGISTER_LAYERS(stem) void shardnet_register_layers_##stem(::shardnet::LayerRegistry& registry)
