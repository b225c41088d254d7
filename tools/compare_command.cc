// shardnet compare A.h5 B.h5: how far apart two checkpoints' parameters (and optimizer state) are.
#include <cstdio>

#include "io/checkpoint.h"
#include "tools/commands.h"
#include "tools/options.h"

namespace shardnet::tools {

int compare_command(const Args& args) {
  po::options_description options("compare options");
  std::string a_path, b_path;
  double tolerance = -1.0;
  // clang-format off
  options.add_options()
      ("a", po::value(&a_path)->required(), "first checkpoint")
      ("b", po::value(&b_path)->required(), "second checkpoint")
      ("tolerance", po::value(&tolerance)->default_value(-1.0, "none"),
       "exit 1 when max |a - b| / max |a| over the parameters exceeds this");
  // clang-format on
  po::positional_options_description positional;
  positional.add("a", 1).add("b", 1);
  po::variables_map vm;
  if (!parse_options(args, "usage: shardnet compare A.h5 B.h5 [--tolerance REL]", options, vm, &positional)) return 0;
  const io::CheckpointDifference d = io::compare_checkpoints(a_path, b_path);
  for (const auto& [name, diff] : d.max_abs_difference) std::printf("%-40s max |a - b| %.3g\n", name.c_str(), diff);
  std::printf("parameters: max |a - b| / max |a| = %.3g%s\n", d.parameters_relative,
              d.identical ? " (bitwise identical, all data sets)" : "");
  return tolerance >= 0.0 && d.parameters_relative > tolerance ? 1 : 0;
}

}  // namespace shardnet::tools
