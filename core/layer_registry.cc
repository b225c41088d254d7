#include "core/layer_registry.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>

// Declarations of the registration blocks the build found (generated: one line per source file).
#define SHARDNET_LAYER_SOURCE(stem) SHARDNET_REGISTER_LAYERS(stem);
#include "layer_sources.inc"
#undef SHARDNET_LAYER_SOURCE

namespace shardnet {
namespace {

std::string format_number(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

int64_t parse_int(const std::string& text, const std::string& key) {
  size_t pos = 0;
  long long v = 0;
  try {
    v = std::stoll(text, &pos);
  } catch (const std::exception&) {
    pos = 0;
  }
  if (pos == 0 || pos != text.size())
    throw std::invalid_argument("'" + key + "' must be an integer, got '" + text + "'");
  return v;
}

float parse_float(const std::string& text, const std::string& key, const char* what = "a number") {
  size_t pos = 0;
  float v = 0.0f;
  try {
    v = std::stof(text, &pos);
  } catch (const std::exception&) {
    pos = 0;
  }
  if (pos == 0 || pos != text.size() || !std::isfinite(v)) {
    throw std::invalid_argument("'" + key + "' must be " + what + ", got '" + text + "'");
  }
  return v;
}

std::vector<float> parse_floats(const std::string& text, const std::string& key) {
  std::vector<float> values;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, ',');) {
    values.push_back(parse_float(part, key, "numbers separated by commas"));
  }
  return values;
}

std::vector<int64_t> parse_ints(const std::string& text, const std::string& key) {
  std::vector<int64_t> values;
  std::stringstream in(text);
  for (std::string part; std::getline(in, part, ',');) values.push_back(parse_int(part, key));
  if (values.empty()) throw std::invalid_argument("'" + key + "' must be integers separated by commas, got ''");
  return values;
}

void check_range(const OptionSpec& spec, double v, const std::string& text) {
  if (v < spec.min || v > spec.max) {
    auto number = [&](double x) {
      return spec.kind == OptionKind::kInt || spec.kind == OptionKind::kIntList
                 ? std::to_string(static_cast<int64_t>(x))
                 : format_number(x);
    };
    const std::string range =
        std::isinf(spec.max) ? ">= " + number(spec.min) : "in [" + number(spec.min) + ", " + number(spec.max) + "]";
    throw std::invalid_argument("'" + spec.key + "' must be " + range + ", got " + text);
  }
}

std::string join_choices(const std::vector<std::string>& choices, const char* separator) {
  std::string out;
  for (const auto& c : choices) out += (out.empty() ? "" : separator) + c;
  return out;
}

}  // namespace

OptionSpec int_option(std::string key, std::optional<int64_t> fallback, int64_t min, int64_t max, std::string doc) {
  OptionSpec s{std::move(key), OptionKind::kInt, std::nullopt, static_cast<double>(min), static_cast<double>(max), {},
               std::move(doc)};
  if (fallback) s.default_value = std::to_string(*fallback);
  return s;
}

OptionSpec float_option(std::string key, float fallback, double min, double max, std::string doc) {
  return OptionSpec{std::move(key), OptionKind::kFloat, format_number(fallback), min, max, {}, std::move(doc)};
}

OptionSpec bool_option(std::string key, bool fallback, std::string doc) {
  return OptionSpec{std::move(key), OptionKind::kBool, fallback ? "1" : "0", 0, 1, {}, std::move(doc)};
}

OptionSpec choice_option(std::string key, std::vector<std::string> choices, std::string fallback, std::string doc) {
  return OptionSpec{std::move(key), OptionKind::kChoice, std::move(fallback), 0, 0, std::move(choices), std::move(doc)};
}

OptionSpec float_list_option(std::string key, std::string doc) {
  return OptionSpec{std::move(key), OptionKind::kFloatList, "", 0, std::numeric_limits<double>::infinity(), {},
                    std::move(doc)};
}

OptionSpec int_list_option(std::string key, int64_t min, int64_t max, std::string doc) {
  return OptionSpec{
      std::move(key), OptionKind::kIntList, std::nullopt, static_cast<double>(min), static_cast<double>(max), {},
      std::move(doc)};
}

OptionSpec string_option(std::string key, std::optional<std::string> fallback, std::string doc) {
  return OptionSpec{std::move(key), OptionKind::kString, std::move(fallback), 0, 0, {}, std::move(doc)};
}

std::vector<OptionSpec> weight_init_options() {
  return {choice_option("init", {"he", "xavier", "glorot", "normal", "pytorch"}, "he",
                        "weight initialiser (He normal, Glorot uniform, N(0, std), PyTorch's uniform)"),
          float_option("std", 0.01f, 0.0, 1e3, "standard deviation of init = normal")};
}

InitSpec weight_init(const LayerOptions& options) {
  return InitSpec{parse_init_kind(options.choice("init")), options.number("std")};
}

void LayerOptions::set(const OptionSpec& spec, const std::string& text) {
  switch (spec.kind) {
    case OptionKind::kInt:
      check_range(spec, static_cast<double>(parse_int(text, spec.key)), text);
      break;
    case OptionKind::kFloat:
      check_range(spec, parse_float(text, spec.key), text);
      break;
    case OptionKind::kBool:
      if (text != "0" && text != "1")
        throw std::invalid_argument("'" + spec.key + "' must be 0 or 1, got '" + text + "'");
      break;
    case OptionKind::kChoice:
      if (std::find(spec.choices.begin(), spec.choices.end(), text) == spec.choices.end()) {
        throw std::invalid_argument("'" + spec.key + "' must be " + join_choices(spec.choices, " | ") + ", got '" +
                                    text + "'");
      }
      break;
    case OptionKind::kFloatList:
      for (float v : parse_floats(text, spec.key)) check_range(spec, v, format_number(v));
      break;
    case OptionKind::kIntList:
      for (int64_t v : parse_ints(text, spec.key)) check_range(spec, static_cast<double>(v), std::to_string(v));
      break;
    case OptionKind::kString:
      if (text.empty()) throw std::invalid_argument("'" + spec.key + "' must not be empty");
      break;
  }
  values_[spec.key] = text;
}

const std::string& LayerOptions::raw(const std::string& key) const {
  auto it = values_.find(key);
  // A factory asking for an option its type does not declare is a programming error.
  if (it == values_.end()) throw std::logic_error("layer option '" + key + "' is not declared by its type");
  return it->second;
}

int64_t LayerOptions::integer(const std::string& key) const { return parse_int(raw(key), key); }
float LayerOptions::number(const std::string& key) const { return parse_float(raw(key), key); }
bool LayerOptions::flag(const std::string& key) const { return raw(key) == "1"; }
const std::string& LayerOptions::choice(const std::string& key) const { return raw(key); }
std::vector<float> LayerOptions::numbers(const std::string& key) const {
  const std::string& text = raw(key);
  return text.empty() ? std::vector<float>{} : parse_floats(text, key);
}

std::vector<int64_t> LayerOptions::integers(const std::string& key) const { return parse_ints(raw(key), key); }
const std::string& LayerOptions::text(const std::string& key) const { return raw(key); }

const LayerRegistry& LayerRegistry::instance() {
  static const LayerRegistry registry = [] {
    LayerRegistry r;
#define SHARDNET_LAYER_SOURCE(stem) shardnet_register_layers_##stem(r);
#include "layer_sources.inc"
#undef SHARDNET_LAYER_SOURCE
    return r;
  }();
  return registry;
}

void LayerRegistry::add(LayerType type) {
  if (type.name.empty() || find(type.name) != nullptr) {
    throw std::logic_error("layer type '" + type.name + "' registered twice or without a name");
  }
  if (static_cast<bool>(type.make_layer) == static_cast<bool>(type.make_loss)) {
    throw std::logic_error("layer type '" + type.name + "' needs exactly one factory (layer or loss)");
  }
  auto at = std::lower_bound(types_.begin(), types_.end(), type.name,
                             [](const LayerType& t, const std::string& name) { return t.name < name; });
  types_.insert(at, std::move(type));
}

const LayerType* LayerRegistry::find(const std::string& name) const {
  auto it = std::lower_bound(types_.begin(), types_.end(), name,
                             [](const LayerType& t, const std::string& n) { return t.name < n; });
  return it != types_.end() && it->name == name ? &*it : nullptr;
}

const std::vector<OptionSpec>& LayerRegistry::common_options() {
  static const std::vector<OptionSpec> options = [] {
    OptionSpec name{"name", OptionKind::kString, "<type><n>", 0, 0, {}, "the layer's name in checkpoints and messages"};
    return std::vector<OptionSpec>{
        name,
        float_list_option("lr_mult", "learning-rate multiplier: one value, or one per parameter (0 freezes)"),
        float_list_option("decay_mult", "weight-decay multiplier: one value, or one per parameter"),
    };
  }();
  return options;
}

std::string registered_type_names(const LayerRegistry& registry) {
  std::string out = "input";
  for (const LayerType& t : registry.types()) out += ", " + t.name;
  return out;
}

std::string describe_default(const OptionSpec& spec) {
  if (!spec.default_value) return "required";
  switch (spec.kind) {
    case OptionKind::kChoice:
      return spec.choices.empty() ? *spec.default_value
                                  : *spec.default_value + " (" + join_choices(spec.choices, " | ") + ")";
    case OptionKind::kBool:
      return *spec.default_value + " (0 | 1)";
    case OptionKind::kFloatList:
      return "none";
    default:
      return *spec.default_value;
  }
}

std::string describe_layers(const LayerRegistry& registry) {
  std::ostringstream out;
  for (const LayerType& t : registry.types()) {
    out << "[" << t.name << "]" << (t.is_loss() ? " (loss)" : "") << "  " << t.doc << "\n";
    for (const OptionSpec& o : t.options) {
      out << "    " << o.key << " = " << describe_default(o) << "  " << o.doc << "\n";
    }
  }
  out << "every layer also takes:\n";
  for (const OptionSpec& o : LayerRegistry::common_options()) out << "    " << o.key << "  " << o.doc << "\n";
  return out.str();
}

std::string layers_markdown_table(const LayerRegistry& registry) {
  std::ostringstream out;
  out << "| section | what it is | options (default) |\n|---|---|---|\n";
  for (const LayerType& t : registry.types()) {
    std::string options;
    for (const OptionSpec& o : t.options) {
      options += options.empty() ? "" : "<br>";
      for (char c : "`" + o.key + "` = " + describe_default(o) + ": " + o.doc) {
        if (c == '|') options += '\\';  // a literal bar inside a table cell
        options += c;
      }
    }
    out << "| `[" << t.name << "]` | " << t.doc << " | " << (options.empty() ? "none" : options) << " |\n";
  }
  return out.str();
}

}  // namespace shardnet
