#include "core/model_file.h"

#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <vector>

#include "core/activation.h"
#include "core/augment.h"
#include "core/batchnorm.h"
#include "core/dropout.h"
#include "core/conv2d.h"
#include "core/dense.h"
#include "core/pooling.h"
#include "core/recurrent.h"

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

  std::string get_string(const std::string& key, const std::string& fallback) {
    auto it = options_.find(key);
    if (it == options_.end()) return fallback;
    it->second.used = true;
    return it->second.value;
  }
  int64_t get_int(const std::string& key, int64_t fallback) {
    auto it = options_.find(key);
    if (it == options_.end()) return fallback;
    it->second.used = true;
    return parse_int(it->second.value, key, it->second.line);
  }
  int64_t require_int(const std::string& key) {
    if (!has(key)) fail(line_, "[" + type_ + "] needs '" + key + " = ...'");
    return get_int(key, 0);
  }
  float get_float(const std::string& key, float fallback) {
    auto it = options_.find(key);
    if (it == options_.end()) return fallback;
    it->second.used = true;
    try {
      size_t pos = 0;
      const float v = std::stof(it->second.value, &pos);
      if (pos == it->second.value.size()) return v;
    } catch (const std::exception&) {
    }
    fail(it->second.line, "'" + key + "' must be a number, got '" + it->second.value + "'");
  }
  // A comma-separated list of numbers; empty when the key is absent.
  std::vector<float> get_floats(const std::string& key) {
    std::vector<float> values;
    auto it = options_.find(key);
    if (it == options_.end()) return values;
    it->second.used = true;
    std::stringstream in(it->second.value);
    for (std::string part; std::getline(in, part, ',');) {
      size_t pos = 0;
      try {
        values.push_back(std::stof(part, &pos));
      } catch (const std::exception&) {
        pos = 0;
      }
      if (pos == 0 || pos != part.size()) {
        fail(it->second.line, "'" + key + "' must be numbers separated by commas, got '" + it->second.value + "'");
      }
    }
    return values;
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

InitSpec read_init(Section& s) {
  InitSpec spec;
  const std::string kind = s.get_string("init", "he");
  try {
    spec.kind = parse_init_kind(kind);
  } catch (const std::invalid_argument& e) {
    s.fail(s.line(), e.what());
  }
  spec.std = s.get_float("std", 0.01f);
  return spec;
}

bool read_bool(Section& s, const std::string& key, bool fallback) {
  const int64_t v = s.get_int(key, fallback ? 1 : 0);
  if (v != 0 && v != 1) s.fail(s.line(), "'" + key + "' must be 0 or 1");
  return v == 1;
}

std::unique_ptr<Layer> make_recurrent(Section& s, const std::string& name, CellKind kind) {
  RecurrentConfig c;
  c.kind = kind;
  c.hidden = s.require_int("hidden");
  c.layers = s.get_int("layers", 1);
  c.bidirectional = read_bool(s, "bidirectional", false);
  const std::string ret = s.get_string("return", "sequence");
  if (ret != "sequence" && ret != "last") s.fail(s.line(), "'return' must be sequence or last, got '" + ret + "'");
  c.return_sequence = ret == "sequence";
  c.dropout = s.get_float("dropout", 0.0f);
  return std::make_unique<Recurrent>(name, c);
}

using LayerFactory = std::function<std::unique_ptr<Layer>(Section&, const std::string& name)>;

const std::map<std::string, LayerFactory>& layer_factories() {
  static const std::map<std::string, LayerFactory> factories = {
      {"dense",
       [](Section& s, const std::string& name) {
         return std::make_unique<Dense>(name, s.require_int("outputs"), read_bool(s, "bias", true),
                                        read_init(s), read_bool(s, "per_step", false));
       }},
      {"embedding",
       [](Section& s, const std::string& name) {
         return std::make_unique<Embedding>(name, s.require_int("vocab"), s.require_int("dim"));
       }},
      {"rnn", [](Section& s, const std::string& name) { return make_recurrent(s, name, CellKind::kRnn); }},
      {"lstm", [](Section& s, const std::string& name) { return make_recurrent(s, name, CellKind::kLstm); }},
      {"gru", [](Section& s, const std::string& name) { return make_recurrent(s, name, CellKind::kGru); }},
      {"conv",
       [](Section& s, const std::string& name) {
         Conv2DConfig c;
         c.filters = s.require_int("filters");
         c.kernel_h = c.kernel_w = s.get_int("size", 3);
         c.stride_h = c.stride_w = s.get_int("stride", 1);
         c.pad_h = c.pad_w = s.get_int("pad", 0);
         c.bias = read_bool(s, "bias", true);
         c.init = read_init(s);
         c.dirac = read_bool(s, "dirac", false);
         c.whiten = read_bool(s, "whiten", false);
         const std::string algo = s.get_string("algo", "auto");
         if (algo == "auto") c.algorithm = ConvAlgorithm::kAuto;
         else if (algo == "gemm") c.algorithm = ConvAlgorithm::kGemm;
         else if (algo == "winograd") c.algorithm = ConvAlgorithm::kWinograd;
         else s.fail(s.line(), "'algo' must be auto, gemm or winograd, got '" + algo + "'");
         return std::make_unique<Conv2D>(name, c);
       }},
      {"maxpool",
       [](Section& s, const std::string& name) {
         return std::make_unique<MaxPool>(
             name, PoolConfig{s.get_int("size", 2), s.get_int("stride", 0), s.get_int("pad", 0)});
       }},
      {"avgpool",
       [](Section& s, const std::string& name) {
         return std::make_unique<AvgPool>(
             name, PoolConfig{s.get_int("size", 2), s.get_int("stride", 0), s.get_int("pad", 0)});
       }},
      {"relu", [](Section&, const std::string& name) { return std::make_unique<ReLU>(name); }},
      {"sigmoid", [](Section&, const std::string& name) { return std::make_unique<Sigmoid>(name); }},
      {"tanh", [](Section&, const std::string& name) { return std::make_unique<Tanh>(name); }},
      {"flatten", [](Section&, const std::string& name) { return std::make_unique<Flatten>(name); }},
      {"leaky_relu",
       [](Section& s, const std::string& name) { return std::make_unique<LeakyReLU>(name, s.get_float("slope", 0.01f)); }},
      {"gelu", [](Section&, const std::string& name) { return std::make_unique<GELU>(name); }},
      {"scale", [](Section& s, const std::string& name) { return std::make_unique<Scale>(name, s.get_float("factor", 1.0f)); }},
      {"elu", [](Section& s, const std::string& name) { return std::make_unique<ELU>(name, s.get_float("alpha", 1.0f)); }},
      {"softmax", [](Section&, const std::string& name) { return std::make_unique<Softmax>(name); }},
      {"batchnorm",
       [](Section& s, const std::string& name) {
         return std::make_unique<BatchNorm>(
             name, BatchNormConfig{s.get_float("momentum", 0.1f), s.get_float("epsilon", 1e-5f), read_bool(s, "sync", true)});
       }},
      {"dropout",
       [](Section& s, const std::string& name) { return std::make_unique<Dropout>(name, s.get_float("rate", 0.5f)); }},
      {"augment",
       [](Section& s, const std::string& name) {
         const std::string flip = s.get_string("flip", "0");
         if (flip != "0" && flip != "1" && flip != "alternate") {
           s.fail(s.line(), "'flip' must be 0, 1 or alternate, got '" + flip + "'");
         }
         return std::make_unique<Augment>(name, s.get_int("shift", 0), flip != "0", s.get_int("cutout", 0),
                                          flip == "alternate");
       }},
  };
  return factories;
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

std::unique_ptr<Loss> make_loss(Section& s) {
  const std::string& type = s.type();
  if (type == "softmax_cross_entropy") return std::make_unique<SoftmaxCrossEntropy>(s.get_float("smoothing", 0.0f));
  if (type == "mse") return std::make_unique<MeanSquaredError>();
  if (type == "sigmoid_cross_entropy") return std::make_unique<SigmoidCrossEntropy>();
  return nullptr;
}

std::string known_types() {
  std::string all = "input";
  for (const auto& [type, _] : layer_factories()) all += ", " + type;
  return all + ", softmax_cross_entropy, sigmoid_cross_entropy, mse";
}

}  // namespace

std::unique_ptr<Net> parse_model(const std::string& text, const std::string& source) {
  std::vector<Section> sections = split_sections(text, source);
  if (sections.empty()) throw ModelError(source + ": the model file has no sections");
  Section& input = sections.front();
  if (input.type() != "input") input.fail(input.line(), "the first section must be [input], got [" + input.type() + "]");
  auto net = std::make_unique<Net>(input.require_shape("shape"));
  input.check_all_used();

  std::map<std::string, int> ordinal;
  std::map<std::string, int> name_line;
  for (size_t i = 1; i < sections.size(); ++i) {
    Section& s = sections[i];
    std::unique_ptr<Loss> loss;
    try {
      loss = make_loss(s);
    } catch (const std::invalid_argument& e) {
      s.fail(s.line(), e.what());
    }
    if (loss) {
      if (i + 1 != sections.size()) s.fail(s.line(), "the loss [" + s.type() + "] must be the last section");
      s.check_all_used();
      try {
        net->set_loss(std::move(loss));
      } catch (const ShapeError& e) {
        s.fail(s.line(), e.what());
      }
      return net;
    }
    auto factory = layer_factories().find(s.type());
    if (factory == layer_factories().end()) {
      s.fail(s.line(), "unknown layer type [" + s.type() + "] (known: " + known_types() + ")");
    }
    const std::string name = s.get_string("name", s.type() + std::to_string(++ordinal[s.type()]));
    if (name_line.count(name)) {
      s.fail(s.line(), "layer name '" + name + "' is already used on line " + std::to_string(name_line[name]));
    }
    name_line[name] = s.line();
    try {
      auto layer = factory->second(s, name);
      Layer& added = *layer;
      const std::vector<float> lr_mult = s.get_floats("lr_mult"), decay_mult = s.get_floats("decay_mult");
      s.check_all_used();
      const Shape in = net->output_shape();
      try {
        net->add(std::move(layer));
      } catch (const ShapeError& e) {
        s.fail(s.line(), std::string(e.what()) + " (input to [" + s.type() + "] is " + shape_string(in) + ")");
      }
      set_multipliers(s, "lr_mult", lr_mult, added.params(), &Param::lr_mult);
      set_multipliers(s, "decay_mult", decay_mult, added.params(), &Param::decay_mult);
    } catch (const std::invalid_argument& e) {  // a bad option value rejected by the layer
      s.fail(s.line(), e.what());
    }
  }
  const Section& last = sections.back();
  last.fail(last.line(), "the model ends without a loss section ([softmax_cross_entropy], [sigmoid_cross_entropy] or [mse])");
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
