#include "tools/options.h"

#include <algorithm>
#include <fstream>
#include <iostream>
#include <set>
#include <typeinfo>
#include <vector>

namespace shardnet::tools {
namespace {

// Options whose repetitions add up (lists like `--mca A --mca B`) rather than replace each other.
bool collects_values(const po::option_description& description) {
  const po::value_semantic& semantic = *description.semantic();
  if (semantic.is_composing() || semantic.max_tokens() > 1) return true;
  const auto* typed = dynamic_cast<const po::typed_value_base*>(&semantic);
  if (typed == nullptr) return false;
  const std::type_info& type = typed->value_type();
  return type == typeid(std::vector<std::string>) || type == typeid(std::vector<int64_t>) ||
         type == typeid(std::vector<int>) || type == typeid(std::vector<double>) || type == typeid(std::vector<float>);
}

// A single-valued option given more than once keeps its last value, as argparse, torchrun and
// gflags do: `examples/mnist/run.sh cnn --epochs 1` overrides the script's own `--epochs 5`.
void keep_last_of_repeated(po::parsed_options& parsed) {
  std::set<std::string> seen;
  std::vector<po::option> kept;
  for (auto it = parsed.options.rbegin(); it != parsed.options.rend(); ++it) {
    const po::option_description* description =
        parsed.description != nullptr ? parsed.description->find_nothrow(it->string_key, false) : nullptr;
    const bool replaces = it->position_key == -1 && description != nullptr && !collects_values(*description);
    if (replaces && !seen.insert(it->string_key).second) {
      boost::any overridden;  // still checked: a bad value is an error even where a later one replaces it
      description->semantic()->parse(overridden, it->value, true);
      continue;
    }
    kept.push_back(*it);
  }
  std::reverse(kept.begin(), kept.end());
  parsed.options = std::move(kept);
}

}  // namespace

bool parse_options(const Args& args, const std::string& usage, po::options_description& options, po::variables_map& vm,
                   const po::positional_options_description* positional) {
  // clang-format off
  options.add_options()("help,h", "show this help");
  // clang-format on
  try {
    po::command_line_parser parser(args);
    parser.options(options);
    if (positional != nullptr) parser.positional(*positional);
    po::parsed_options parsed = parser.run();
    keep_last_of_repeated(parsed);
    po::store(parsed, vm);
    if (vm.count("help")) {
      std::cout << usage << "\n" << options << "\n";
      return false;
    }
    if (options.find_nothrow("config", false) != nullptr && vm.count("config")) {
      const std::string path = vm["config"].as<std::string>();
      std::ifstream in(path);
      if (!in) throw UsageError(path + ": cannot open the config file");
      po::store(po::parse_config_file(in, options), vm);
    }
    po::notify(vm);
  } catch (const po::error& e) {
    throw UsageError(e.what());
  }
  return true;
}

}  // namespace shardnet::tools
