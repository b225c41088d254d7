#pragma once
// Checkpoints in HDF5 (layout in docs/ARCHITECTURE.md):
//   attributes on "/": format = "shardnet-checkpoint", version, model (the model file's text),
//                      epoch, step, seed, world_size
//   /params/<layer>/<name>            float32, as the layer holds it
//   /optimizer/<layer>/<name>/<slot>  optimizer state; attribute "step_count" on /optimizer
// Written to "<path>.tmp", flushed, then renamed: a crash never leaves a half-written file under
// the real name.
#include <string>

#include "core/net.h"
#include "core/optimizer.h"

namespace shardnet::io {

struct CheckpointMeta {
  std::string model_text;
  int64_t epoch = 0, step = 0;
  uint64_t seed = 0;
  int world_size = 1;
};

void save_checkpoint(const std::string& path, Net& net, const Optimizer* optimizer, const CheckpointMeta& meta);

// Loads parameters into `net` (and optimizer state, when given and present). Throws Hdf5Error
// naming what does not match: a missing or extra parameter, or a shape.
CheckpointMeta load_checkpoint(const std::string& path, Net& net, Optimizer* optimizer);

}  // namespace shardnet::io
