#include "tools/options.h"

#include <fstream>
#include <iostream>

namespace shardnet::tools {

bool parse_options(const Args& args, const std::string& usage, po::options_description& options, po::variables_map& vm,
                   const po::positional_options_description* positional) {
  // clang-format off
  options.add_options()("help,h", "show this help");
  // clang-format on
  try {
    po::command_line_parser parser(args);
    parser.options(options);
    if (positional != nullptr) parser.positional(*positional);
    po::store(parser.run(), vm);
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
