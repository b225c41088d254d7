#include "core/model_file.h"

#include <cctype>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <sstream>
#include <vector>

#include "core/layer_registry.h"

namespace shardnet {
namespace {

struct Option {
  std::string value;
  int line = 0;
  bool used = false;
};

// One [section] with its options; getters mark options as used so leftovers can be reported.
class Section {
 public:
  Section(std::string type, int line, std::string source)
      : type_(std::move(type)), line_(line), source_(std::move(source)) {}

  const std::string& type() const { return type_; }
  int line() const { return line_; }

  void set(const std::string& key, const std::string& value, int line) {
    if (options_.count(key)) fail(line, "option '" + key + "' given twice in [" + type_ + "]");
    options_[key] = Option{value, line};
  }
  bool has(const std::string& key) const { return options_.count(key) > 0; }

  // Checks every option of `type` (given, or its default) into `options`; a missing required one,
  // a bad value or an option the type does not have fails with its line.
  void read_options(const std::vector<OptionSpec>& specs, LayerOptions& options) {
    for (const OptionSpec& spec : specs) {
      auto it = options_.find(spec.key);
      try {
        if (it != options_.end()) {
          it->second.used = true;
          options.set(spec, it->second.value);
        } else if (spec.default_value) {
          options.set(spec, *spec.default_value);
        } else {
          fail(line_, "[" + type_ + "] needs '" + spec.key + " = ...'");
        }
      } catch (const std::invalid_argument& e) {
        fail(it != options_.end() ? it->second.line : line_, e.what());
      }
    }
  }
  std::string get_string(const std::string& key, const std::string& fallback) {
    auto it = options_.find(key);
    if (it == options_.end()) return fallback;
    it->second.used = true;
    return it->second.value;
  }
  Shape require_shape(const std::string& key) {
    if (!has(key)) fail(line_, "[" + type_ + "] needs '" + key + " = ...'");
    Option& opt = options_[key];
    opt.used = true;
    Shape shape;
    std::stringstream in(opt.value);
    std::string part;
    while (std::getline(in, part, ',')) shape.push_back(parse_int(part, key, opt.line));
    if (shape.empty()) fail(opt.line, "'" + key + "' is empty");
    for (int64_t d : shape) {
      if (d <= 0) fail(opt.line, "'" + key + "' sizes must be positive, got '" + opt.value + "'");
    }
    return shape;
  }
  void check_all_used() const {
    for (const auto& [key, opt] : options_) {
      if (!opt.used) fail(opt.line, "[" + type_ + "] has no option '" + key + "'");
    }
  }
  [[noreturn]] void fail(int line, const std::string& message) const {
    throw ModelError(source_ + ":" + std::to_string(line) + ": " + message);
  }

 private:
  int64_t parse_int(const std::string& text, const std::string& key, int line) const {
    try {
      size_t pos = 0;
      const long long v = std::stoll(text, &pos);
      if (pos == text.size()) return v;
    } catch (const std::exception&) {
    }
    fail(line, "'" + key + "' must be an integer, got '" + text + "'");
  }

  std::string type_;
  int line_;
  std::string source_;
  std::map<std::string, Option> options_;
};

std::vector<Section> split_sections(const std::string& text, const std::string& source) {
  std::vector<Section> sections;
  std::istringstream lines(text);
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    if (auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    std::string spaced;
    for (char c : line) {
      if (c == '=' || c == '[' || c == ']') {
        spaced += ' ';
        spaced += c;
        spaced += ' ';
      } else {
        spaced += c;
      }
    }
    std::vector<std::string> tokens;
    std::istringstream words(spaced);
    for (std::string w; words >> w;) tokens.push_back(w);
    auto fail = [&](const std::string& message) {
      throw ModelError(source + ":" + std::to_string(number) + ": " + message);
    };
    for (size_t i = 0; i < tokens.size();) {
      if (tokens[i] == "[") {
        if (i + 2 >= tokens.size() || tokens[i + 2] != "]") fail("malformed section header");
        sections.emplace_back(tokens[i + 1], number, source);
        i += 3;
      } else {
        if (i + 2 >= tokens.size() || tokens[i + 1] != "=" || tokens[i + 2] == "[" || tokens[i + 2] == "=") {
          fail("expected 'key = value', got '" + tokens[i] + "'");
        }
        if (sections.empty()) fail("option '" + tokens[i] + "' before the first [section]");
        sections.back().set(tokens[i], tokens[i + 2], number);
        i += 3;
      }
    }
  }
  return sections;
}

// Caffe's per-parameter multipliers: one value for every parameter of the layer, or one per parameter
// in the layer's order (e.g. weight, bias).
void set_multipliers(const Section& s, const std::string& key, const std::vector<float>& values,
                     const std::vector<Param*>& params, float Param::*field) {
  if (values.empty()) return;
  if (params.empty()) s.fail(s.line(), "[" + s.type() + "] has no parameters for '" + key + "'");
  if (values.size() != 1 && values.size() != params.size()) {
    std::string names;
    for (const Param* p : params) names += (names.empty() ? "" : ", ") + p->name;
    s.fail(s.line(), "'" + key + "' needs 1 or " + std::to_string(params.size()) + " values (" + names + "), got " +
                         std::to_string(values.size()));
  }
  for (size_t i = 0; i < params.size(); ++i) {
    const float v = values.size() == 1 ? values[0] : values[i];
    if (!(v >= 0.0f)) s.fail(s.line(), "'" + key + "' values must be >= 0");
    params[i]->*field = v;
  }
}

}  // namespace

std::unique_ptr<Net> parse_model(const std::string& text, const std::string& source) {
  std::vector<Section> sections = split_sections(text, source);
  if (sections.empty()) throw ModelError(source + ": the model file has no sections");
  Section& input = sections.front();
  if (input.type() != "input")
    input.fail(input.line(), "the first section must be [input], got [" + input.type() + "]");
  const Shape input_shape = input.require_shape("shape");
  try {
    shape_numel(input_shape);
  } catch (const SizeError& e) {
    input.fail(input.line(), e.what());
  }
  auto net = std::make_unique<Net>(input_shape);
  input.check_all_used();

  const LayerRegistry& registry = LayerRegistry::instance();
  std::map<std::string, int> ordinal;
  std::map<std::string, int> name_line;
  for (size_t i = 1; i < sections.size(); ++i) {
    Section& s = sections[i];
    const LayerType* type = registry.find(s.type());
    if (type == nullptr) {
      s.fail(s.line(), "unknown layer type [" + s.type() + "] (known: " + registered_type_names(registry) + ")");
    }
    LayerOptions options;
    s.read_options(type->options, options);
    if (type->is_loss()) {
      if (i + 1 != sections.size()) s.fail(s.line(), "the loss [" + s.type() + "] must be the last section");
      s.check_all_used();
      try {
        net->set_loss(type->make_loss(options));
      } catch (const std::invalid_argument& e) {  // ShapeError too
        s.fail(s.line(), e.what());
      }
      return net;
    }
    const std::string name = s.get_string("name", s.type() + std::to_string(++ordinal[s.type()]));
    if (name_line.count(name)) {
      s.fail(s.line(), "layer name '" + name + "' is already used on line " + std::to_string(name_line[name]));
    }
    name_line[name] = s.line();
    LayerOptions common;
    s.read_options({LayerRegistry::common_options().begin() + 1, LayerRegistry::common_options().end()}, common);
    s.check_all_used();
    try {
      auto layer = type->make_layer(name, options);
      Layer& added = *layer;
      const Shape in = net->output_shape();
      try {
        net->add(std::move(layer));
      } catch (const ShapeError& e) {
        s.fail(s.line(), std::string(e.what()) + " (input to [" + s.type() + "] is " + shape_string(in) + ")");
      }
      set_multipliers(s, "lr_mult", common.numbers("lr_mult"), added.params(), &Param::lr_mult);
      set_multipliers(s, "decay_mult", common.numbers("decay_mult"), added.params(), &Param::decay_mult);
    } catch (const std::invalid_argument& e) {  // a bad combination of values rejected by the layer
      s.fail(s.line(), e.what());
    }
  }
  std::string losses;
  for (const LayerType& t : registry.types())
    if (t.is_loss()) losses += (losses.empty() ? "[" : "], [") + t.name;
  const Section& last = sections.back();
  last.fail(last.line(), "the model ends without a loss section (" + losses + "])");
}

namespace {
// The size a `key = value` of section `section` stands for, when the value is one of the data's.
std::optional<std::string> data_size(const std::string& section, const std::string& key, const std::string& value,
                                     const DataDescription& data, const std::function<void(const std::string&)>& fail) {
  if (section == "input" && key == "shape" && value == "auto") {
    if (data.sample_shape.empty()) fail("shape = auto, but the data set's rows have no shape");
    std::string shape;
    for (int64_t d : data.sample_shape) {
      if (!shape.empty()) shape += ',';
      shape += std::to_string(d);
    }
    return shape;
  }
  if (key == "vocab" && value == "auto") {
    if (data.vocab_size <= 0) fail("vocab = auto, but the data set has no /vocab");
    return std::to_string(data.vocab_size);
  }
  if (key == "outputs" && value == "classes") {
    if (!data.class_labels) fail("outputs = classes, but the data set's /label holds float targets");
    return std::to_string(data.num_classes);
  }
  return std::nullopt;
}
}  // namespace

std::string resolve_data_sizes(const std::string& text, const std::string& source, const DataDescription& data) {
  auto is_word = [](char c) {
    return !std::isspace(static_cast<unsigned char>(c)) && c != '=' && c != '[' && c != ']';
  };
  std::string out, section;
  std::istringstream lines(text);
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    const size_t code_end = std::min(line.find('#'), line.size());
    auto fail = [&](const std::string& what) {
      throw ModelError(source + ":" + std::to_string(number) + ": " + what + " (" + data.source + ")");
    };
    std::string resolved;
    size_t copied = 0, i = 0;
    // The tokens split_sections reads: [section] headers and key = value pairs.
    auto skip_spaces = [&] {
      while (i < code_end && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    };
    auto read_word = [&] {
      const size_t from = i;
      while (i < code_end && is_word(line[i])) ++i;
      return from;
    };
    while (skip_spaces(), i < code_end) {
      if (line[i] == '[') {
        const size_t close = line.find(']', i);
        if (close == std::string::npos || close >= code_end) break;  // the parser reports it
        std::istringstream name(line.substr(i + 1, close - i - 1));
        name >> section;
        i = close + 1;
        continue;
      }
      const size_t key_at = read_word();
      const std::string key = line.substr(key_at, i - key_at);
      skip_spaces();
      if (key.empty() || i >= code_end || line[i] != '=') {
        if (key.empty()) ++i;
        continue;
      }
      ++i;
      skip_spaces();
      const size_t value_at = read_word();
      const auto size = data_size(section, key, line.substr(value_at, i - value_at), data, fail);
      if (!size) continue;
      resolved += line.substr(copied, value_at - copied) + *size;
      copied = i;
    }
    out += resolved + line.substr(copied);
    if (!lines.eof()) out += '\n';
  }
  return out;
}

bool takes_sizes_from_data(const std::string& text) {
  // A data set whose sizes are all missing: resolving fails exactly where a size is wanted.
  try {
    resolve_data_sizes(text, "", DataDescription{});
    return false;
  } catch (const ModelError&) {
    return true;
  }
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ModelError(path + ": cannot open the file");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::unique_ptr<Net> load_model(const std::string& path) { return parse_model(read_text_file(path), path); }

}  // namespace shardnet
