// `shardnet layers`: every layer and loss type a model file can use, with its options.
#include <cstdio>

#include "core/layer_registry.h"
#include "tools/commands.h"
#include "tools/options.h"

namespace shardnet::tools {

int layers_command(const Args& args) {
  po::options_description options("layers options");
  // clang-format off
  options.add_options()("markdown", "print the README's table instead (Markdown)");
  // clang-format on
  po::variables_map vm;
  if (!parse_options(args, "usage: shardnet layers [--markdown]", options, vm)) return 0;
  const LayerRegistry& registry = LayerRegistry::instance();
  std::fputs((vm.count("markdown") ? layers_markdown_table(registry) : describe_layers(registry)).c_str(), stdout);
  return 0;
}

}  // namespace shardnet::tools
