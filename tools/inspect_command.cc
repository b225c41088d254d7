// `shardnet inspect FILE.h5`: the listing of io/inspect.h.
#include <cstdio>

#include "io/inspect.h"
#include "tools/commands.h"
#include "tools/options.h"

namespace shardnet::tools {

int inspect_command(const Args& args) {
  po::options_description options("inspect options");
  std::string path;
  // clang-format off
  options.add_options()("file", po::value(&path)->required(), "HDF5 data set or checkpoint");
  // clang-format on
  po::positional_options_description positional;
  positional.add("file", 1);
  po::variables_map vm;
  if (!parse_options(args, "usage: shardnet inspect FILE.h5", options, vm, &positional)) return 0;
  std::fputs(io::list_hdf5_file(path).c_str(), stdout);
  return 0;
}

}  // namespace shardnet::tools
