#pragma once
// Checkpoints in HDF5 (layout in docs/ARCHITECTURE.md):
//   attributes on "/": format = "shardnet-checkpoint", version, model (the model file's text),
//                      epoch, step (the next step within that epoch), global_step, global_batch,
//                      seed, world_size, run_config (the run's `key = value` lines)
//   /params/<layer>/<name>            float32, as the layer holds it
//   /buffers/<layer>/<name>           non-learned state, e.g. BatchNorm's running statistics
//   /optimizer/<layer>/<name>/<slot>  optimizer state; attribute "step_count" on /optimizer
//   /preprocessing                    how raw inputs become rows (io/input_preprocessing.h), when known
// Written to "<path>.tmp", flushed, then renamed: a crash never leaves a half-written file under
// the real name.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/net.h"
#include "core/optimizer.h"
#include "io/input_preprocessing.h"

namespace shardnet::io {

struct CheckpointMeta {
  std::string model_text;
  int64_t epoch = 0, step = 0, global_step = 0;  // where a resumed run starts
  int64_t global_batch = 0;
  uint64_t seed = 0;
  int world_size = 1;
  // The whole run configuration (core/run_config.h: run_config_text); empty in checkpoints
  // written before it was stored.
  std::string run_config;
  // The training data's preprocessing (kind, sizes, classes, vocabulary, standardisation), copied so
  // that `predict` can prepare raw inputs from the checkpoint alone; nullopt when not recorded.
  std::optional<InputPreprocessing> preprocessing;
};

void save_checkpoint(const std::string& path, Net& net, const Optimizer* optimizer, const CheckpointMeta& meta);

// Loads parameters into `net` (and optimizer state, when given and present). Throws Hdf5Error
// naming what does not match: a missing or extra parameter, or a shape.
CheckpointMeta load_checkpoint(const std::string& path, Net& net, Optimizer* optimizer);
// The attributes alone (what run wrote it, where it stands), without loading any tensor.
CheckpointMeta read_checkpoint_meta(const std::string& path);

// Several nets trained together (a GAN's generator and discriminator, a DQN's online and target
// nets), each with its optimizer, in one file written and published as one, so that a resumed run
// never pairs nets of different steps. The position attributes are on "/" as above, with
// format = "shardnet-checkpoint-set"; net N's tensors are under /nets/N/{params,buffers,optimizer},
// as a single checkpoint's, and its model text (may be empty) is the attribute "model" on /nets/N.
struct NetState {
  std::string name;  // no '/', unique in the set
  Net& net;
  Optimizer* optimizer = nullptr;  // null: parameters and buffers only
  std::string model_text;
};
void save_checkpoint_set(const std::string& path, const std::vector<NetState>& nets, const CheckpointMeta& meta);
// Loads the nets named (any subset of those stored: a sampler needs only the generator); throws
// Hdf5Error naming a net that is not stored or a tensor that does not match.
CheckpointMeta load_checkpoint_set(const std::string& path, const std::vector<NetState>& nets);

// How far apart two checkpoints (or any two HDF5 files of float data sets) are.
struct CheckpointDifference {
  std::vector<std::pair<std::string, double>> max_abs_difference;  // per data set, in name order
  double parameters_relative = 0.0;  // max |a - b| / max |a| over /params (a set: /nets/*/params)
  bool identical = true;             // every value of every data set bitwise equal
};
// Throws when the files do not hold the same data sets of the same sizes.
CheckpointDifference compare_checkpoints(const std::string& a, const std::string& b);

// fsync of a file or directory; throws Hdf5Error naming it when the data may not be on disk.
void sync_to_disk(const std::string& path, bool directory);
// Renames the finished `tmp` to `path` durably: `tmp` synced first, the directory after.
void publish_durably(const std::string& tmp, const std::string& path);

// Checkpoints of a run live in <run dir>/checkpoints/checkpoint-<global step, 8 digits>.h5.
std::string checkpoint_path(const std::string& run_dir, int64_t global_step);
// The global step in a checkpoint's file name ("checkpoint-00000042.h5": 42); nullopt for another name.
std::optional<int64_t> checkpoint_step(const std::string& path);
// The run's checkpoints, newest (highest step) first; temporary files are not listed.
std::vector<std::string> list_checkpoints(const std::string& run_dir);

}  // namespace shardnet::io
