#pragma once
// Boost.Program_options glue shared by the subcommands.
#include <boost/program_options.hpp>
#include <string>

#include "tools/commands.h"

namespace shardnet::tools {

namespace po = boost::program_options;

// Parses `args` against `options` (and positional names, if any); returns false after printing
// help when --help was given. A `config` option, when declared and set, names a file of
// `key = value` lines read after the command line (command-line values win). A single-valued
// option given twice keeps the last value; list options collect every occurrence.
bool parse_options(const Args& args, const std::string& usage, po::options_description& options, po::variables_map& vm,
                   const po::positional_options_description* positional = nullptr);

}  // namespace shardnet::tools
