#pragma once
// The flags of `shardnet train`, bound to the typed run configuration. Every default shown by
// --help is the value of a default RunConfig, in the text a checkpoint stores it as.
#include "core/run_config.h"
#include "tools/options.h"

namespace shardnet::tools {

// Declares the flags on `options`, writing into `config` (which must start as RunConfig{}).
void add_train_options(po::options_description& options, RunConfig& config);
// After parsing: the values that have no plain default (optional fields, switches) into `config`.
void finish_train_options(const po::variables_map& vm, RunConfig& config);

}  // namespace shardnet::tools
