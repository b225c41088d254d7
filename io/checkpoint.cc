#include "io/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <set>

#include "io/hdf5.h"

namespace shardnet::io {
namespace {

std::vector<hsize_t> dims_of(const Tensor& t) { return {t.shape().begin(), t.shape().end()}; }

herr_t collect_dataset(hid_t, const char* name, const H5O_info_t* info, void* out) {
  if (info->type == H5O_TYPE_DATASET) static_cast<std::set<std::string>*>(out)->insert(name);
  return 0;
}

// Names of all data sets under `group` (relative, e.g. "conv1/weight").
std::set<std::string> datasets_under(hid_t file, const std::string& group, const std::string& path) {
  std::set<std::string> names;
  if (!has_link(file, group)) return names;
  H5Id g(h5_check_id(H5Gopen2(file, group.c_str(), H5P_DEFAULT), path + ": " + group), H5Gclose);
  h5_check(H5Ovisit2(g.get(), H5_INDEX_NAME, H5_ITER_NATIVE, collect_dataset, &names, H5O_INFO_BASIC),
           path + ": listing " + group);
  return names;
}

// Reads every tensor of `wanted` from `group`/<name>; the group must hold exactly those.
// `Tensors`: Param* or Buffer* (a name and a value each).
template <typename Tensors>
void load_tensors(hid_t root, const std::string& group, const std::string& what, const Tensors& wanted,
                  const std::string& path) {
  std::set<std::string> stored = datasets_under(root, group, path);
  for (auto* p : wanted) {
    if (!stored.count(p->name)) throw Hdf5Error(path + ": has no " + what + " '" + p->name + "' that the model needs");
    read_float_dataset(root, group + "/" + p->name, dims_of(p->value), p->value.data(), path);
    stored.erase(p->name);
  }
  if (!stored.empty()) {
    throw Hdf5Error(path + ": holds " + what + " '" + *stored.begin() + "' that the model does not have");
  }
}

}  // namespace

namespace {

// Creates `group` (and the groups above it) unless it exists, and opens it.
H5Id ensure_group(hid_t root, const std::string& group, const std::string& path) {
  if (has_link(root, group)) return H5Id(h5_check_id(H5Gopen2(root, group.c_str(), H5P_DEFAULT), path), H5Gclose);
  H5Id lcpl(h5_check_id(H5Pcreate(H5P_LINK_CREATE), "H5Pcreate"), H5Pclose);
  h5_check(H5Pset_create_intermediate_group(lcpl.get(), 1), "H5Pset_create_intermediate_group");
  return H5Id(h5_check_id(H5Gcreate2(root, group.c_str(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT), path + ": " + group),
              H5Gclose);
}

void write_position(hid_t root, const char* format, const CheckpointMeta& meta) {
  write_string_attribute(root, "format", format);
  write_int_attribute(root, "version", 1);
  write_string_attribute(root, "model", meta.model_text);
  write_int_attribute(root, "epoch", meta.epoch);
  write_int_attribute(root, "step", meta.step);
  write_int_attribute(root, "global_step", meta.global_step);
  write_int_attribute(root, "global_batch", meta.global_batch);
  write_int_attribute(root, "seed", static_cast<int64_t>(meta.seed));
  write_int_attribute(root, "world_size", meta.world_size);
  if (!meta.run_config.empty()) write_string_attribute(root, "run_config", meta.run_config);
  if (meta.preprocessing) write_preprocessing(root, *meta.preprocessing);
}

// One net's parameters, buffers and optimizer state under `prefix` ("" for a single checkpoint).
void write_net_state(hid_t root, const std::string& prefix, Net& net, const Optimizer* optimizer,
                     const std::string& tmp) {
  for (Param* p : net.params()) {
    write_float_dataset(root, prefix + "/params/" + p->name, dims_of(p->value), p->value.data());
  }
  for (const Buffer* b : net.buffers()) {
    write_float_dataset(root, prefix + "/buffers/" + b->name, dims_of(b->value), b->value.data());
  }
  if (optimizer == nullptr) return;
  auto& state = const_cast<Optimizer*>(optimizer)->state();
  for (const auto& [param, slots] : state) {
    for (const auto& [slot, tensor] : slots) {
      write_float_dataset(root, prefix + "/optimizer/" + param + "/" + slot, dims_of(tensor), tensor.data());
    }
  }
  H5Id g = ensure_group(root, prefix + "/optimizer", tmp);
  write_string_attribute(g.get(), "type", optimizer->type());
  write_int_attribute(g.get(), "step_count", optimizer->step_count());
}

// Writes through `fill(root, tmp)` to "<path>.tmp", flushes and publishes it under `path`.
template <class Fill>
void write_published(const std::string& path, Fill&& fill) {
  const std::string tmp = path + ".tmp";
  {
    H5Id file = create_file(tmp);
    fill(file.get(), tmp);
    h5_check(H5Fflush(file.get(), H5F_SCOPE_GLOBAL), tmp + ": flush");
  }
  publish_durably(tmp, path);
}

}  // namespace

void save_checkpoint(const std::string& path, Net& net, const Optimizer* optimizer, const CheckpointMeta& meta) {
  write_published(path, [&](hid_t root, const std::string& tmp) {
    write_position(root, "shardnet-checkpoint", meta);
    write_net_state(root, "", net, optimizer, tmp);
  });
}

void save_checkpoint_set(const std::string& path, const std::vector<NetState>& nets, const CheckpointMeta& meta) {
  std::set<std::string> names;
  for (const NetState& n : nets) {
    if (n.name.empty() || n.name.find('/') != std::string::npos || !names.insert(n.name).second) {
      throw std::invalid_argument(path + ": net name '" + n.name + "' is empty, has a '/' or is given twice");
    }
  }
  write_published(path, [&](hid_t root, const std::string& tmp) {
    write_position(root, "shardnet-checkpoint-set", meta);
    for (const NetState& n : nets) {
      write_net_state(root, "/nets/" + n.name, n.net, n.optimizer, tmp);
      write_string_attribute(ensure_group(root, "/nets/" + n.name, tmp).get(), "model", n.model_text);
    }
  });
}

void sync_to_disk(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0) throw Hdf5Error(path + ": cannot open to sync it to disk: " + std::strerror(errno));
  const int synced = ::fsync(fd);
  const int sync_errno = errno;
  if (::close(fd) != 0 && synced == 0) throw Hdf5Error(path + ": close: " + std::strerror(errno));
  if (synced != 0) throw Hdf5Error(path + ": fsync: " + std::strerror(sync_errno));
}

void publish_durably(const std::string& tmp, const std::string& path) {
  // On disk before it takes the real name, so not even a power cut leaves a half-written one there;
  // then the directory, so that the new name itself survives one.
  sync_to_disk(tmp, false);
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw Hdf5Error(path + ": cannot move the file into place: " + ec.message());
  const std::string dir = std::filesystem::path(path).parent_path().string();
  sync_to_disk(dir.empty() ? "." : dir, true);
}

namespace {
CheckpointMeta read_meta(hid_t root, const std::string& path, const std::string& format = "shardnet-checkpoint") {
  if (!has_attribute(root, "format") || read_string_attribute(root, "format", path) != format) {
    throw Hdf5Error(path + ": not a " + (format == "shardnet-checkpoint" ? "shardnet checkpoint" : "checkpoint set") +
                    " (no format = \"" + format + "\" attribute)");
  }
  CheckpointMeta meta;
  meta.model_text = read_string_attribute(root, "model", path);
  meta.epoch = read_int_attribute(root, "epoch", path);
  meta.step = read_int_attribute(root, "step", path);
  // Weights-only files (written before positions were recorded) still load for evaluation.
  if (has_attribute(root, "global_step")) meta.global_step = read_int_attribute(root, "global_step", path);
  if (has_attribute(root, "global_batch")) meta.global_batch = read_int_attribute(root, "global_batch", path);
  meta.seed = static_cast<uint64_t>(read_int_attribute(root, "seed", path));
  meta.world_size = static_cast<int>(read_int_attribute(root, "world_size", path));
  if (has_attribute(root, "run_config")) meta.run_config = read_string_attribute(root, "run_config", path);
  meta.preprocessing = read_checkpoint_preprocessing(root, path);
  auto check = [&](bool ok, const std::string& what) {
    if (!ok) throw Hdf5Error(path + ": " + what);
  };
  check(meta.epoch >= 0 && meta.step >= 0 && meta.global_step >= 0,
        "position epoch " + std::to_string(meta.epoch) + ", step " + std::to_string(meta.step) + ", global_step " +
            std::to_string(meta.global_step) + " is negative");
  check(meta.global_batch >= 0, "global_batch " + std::to_string(meta.global_batch) + " is negative");
  check(meta.world_size >= 1, "world_size " + std::to_string(meta.world_size) + " is below 1");
  return meta;
}
}  // namespace

CheckpointMeta read_checkpoint_meta(const std::string& path) {
  H5Id file = open_file(path, false);
  return read_meta(file.get(), path);
}

namespace {

void read_net_state(hid_t root, const std::string& prefix, Net& net, Optimizer* optimizer, const std::string& path) {
  load_tensors(root, prefix + "/params", "parameter", net.params(), path);
  load_tensors(root, prefix + "/buffers", "buffer", net.buffers(), path);
  const std::string group = prefix + "/optimizer";
  if (optimizer == nullptr || !has_link(root, group)) return;
  std::map<std::string, const Param*> params;
  for (const Param* p : net.params()) params[p->name] = p;
  auto& state = optimizer->state();
  state.clear();
  for (const std::string& name : datasets_under(root, group, path)) {
    const auto slash = name.rfind('/');
    H5Id ds = open_dataset(root, group + "/" + name, path);
    const auto dims = dataset_dims(ds.get(), path);
    // A slot is read and written element by element with its parameter: the shapes must agree.
    const auto param = slash == std::string::npos ? params.end() : params.find(name.substr(0, slash));
    if (param == params.end()) {
      throw Hdf5Error(path + ": optimizer state " + group + "/" + name + " belongs to no parameter of the model");
    }
    const Shape shape(dims.begin(), dims.end());
    if (shape != param->second->value.shape()) {
      throw Hdf5Error(path + ": optimizer state " + group + "/" + name + " has shape " + shape_string(shape) +
                      ", its parameter " + shape_string(param->second->value.shape()));
    }
    Tensor t(shape);
    read_float_dataset(root, group + "/" + name, dims, t.data(), path);
    state[name.substr(0, slash)][name.substr(slash + 1)] = std::move(t);
  }
  H5Id g(h5_check_id(H5Gopen2(root, group.c_str(), H5P_DEFAULT), path), H5Gclose);
  const int64_t steps = read_int_attribute(g.get(), "step_count", path + ": " + group);
  if (steps < 0) throw Hdf5Error(path + ": " + group + " step_count is " + std::to_string(steps));
  optimizer->set_step_count(steps);
}

}  // namespace

CheckpointMeta load_checkpoint(const std::string& path, Net& net, Optimizer* optimizer) {
  H5Id file = open_file(path, false);
  CheckpointMeta meta = read_meta(file.get(), path);
  read_net_state(file.get(), "", net, optimizer, path);
  return meta;
}

CheckpointMeta load_checkpoint_set(const std::string& path, const std::vector<NetState>& nets) {
  H5Id file = open_file(path, false);
  CheckpointMeta meta = read_meta(file.get(), path, "shardnet-checkpoint-set");
  for (const NetState& n : nets) {
    const std::string group = "/nets/" + n.name;
    if (n.name.empty() || !has_link(file.get(), group)) throw Hdf5Error(path + ": has no net '" + n.name + "'");
    read_net_state(file.get(), group, n.net, n.optimizer, path + " (net " + n.name + ")");
  }
  return meta;
}

std::string checkpoint_path(const std::string& run_dir, int64_t global_step) {
  char name[64];
  std::snprintf(name, sizeof name, "checkpoint-%08lld.h5", static_cast<long long>(global_step));
  return (std::filesystem::path(run_dir) / "checkpoints" / name).string();
}

std::optional<int64_t> checkpoint_step(const std::string& path) {
  const std::string name = std::filesystem::path(path).filename().string();
  long long step = 0;
  char tail[8] = {};
  if (std::sscanf(name.c_str(), "checkpoint-%lld.%7s", &step, tail) == 2 && std::string(tail) == "h5") return step;
  return std::nullopt;
}

std::vector<std::string> list_checkpoints(const std::string& run_dir) {
  std::vector<std::pair<int64_t, std::string>> found;
  const auto dir = std::filesystem::path(run_dir) / "checkpoints";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (const auto step = checkpoint_step(entry.path().string())) found.emplace_back(*step, entry.path().string());
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<std::string> paths;
  paths.reserve(found.size());
  for (auto& f : found) paths.push_back(std::move(f.second));
  return paths;
}

namespace {
// The numeric data sets: /preprocessing describes inputs (its vocabulary is strings), not a state.
std::set<std::string> all_datasets(hid_t file, const std::string& path) {
  std::set<std::string> names;
  h5_check(H5Ovisit2(file, H5_INDEX_NAME, H5_ITER_NATIVE, collect_dataset, &names, H5O_INFO_BASIC), path + ": listing");
  std::erase_if(names, [](const std::string& name) { return name.rfind("preprocessing/", 0) == 0; });
  return names;
}

std::vector<float> read_whole(hid_t file, const std::string& name, const std::string& path) {
  H5Id ds = open_dataset(file, name, path);
  const auto dims = dataset_dims(ds.get(), path);
  hsize_t n = 1;
  for (hsize_t d : dims) n *= d;
  std::vector<float> values(n);
  read_float_dataset(file, name, dims, values.data(), path);
  return values;
}
}  // namespace

CheckpointDifference compare_checkpoints(const std::string& a_path, const std::string& b_path) {
  H5Id a = open_file(a_path, false), b = open_file(b_path, false);
  const auto names = all_datasets(a.get(), a_path);
  if (names != all_datasets(b.get(), b_path)) {
    throw std::runtime_error(a_path + " and " + b_path + " do not hold the same data sets");
  }
  CheckpointDifference result;
  double params_diff = 0.0, params_scale = 0.0;
  for (const std::string& name : names) {
    const auto va = read_whole(a.get(), name, a_path), vb = read_whole(b.get(), name, b_path);
    if (va.size() != vb.size()) throw std::runtime_error(name + " has different sizes in the two files");
    double diff = 0.0, scale = 0.0;
    for (size_t i = 0; i < va.size(); ++i) {
      // NaN on either side is infinitely far from anything (std::max would drop it), unless both
      // are the same NaN bits (then `identical` says so).
      const bool same_bits = std::bit_cast<uint32_t>(va[i]) == std::bit_cast<uint32_t>(vb[i]);
      if ((std::isnan(va[i]) || std::isnan(vb[i])) && !same_bits) diff = std::numeric_limits<double>::infinity();
      diff = std::max(diff, static_cast<double>(std::abs(va[i] - vb[i])));
      scale = std::max(scale, static_cast<double>(std::abs(va[i])));
      result.identical = result.identical && same_bits;
    }
    // A single checkpoint's params/... or a set's nets/<name>/params/...
    if (name.rfind("params/", 0) == 0 || (name.rfind("nets/", 0) == 0 && name.find("/params/") != std::string::npos)) {
      params_diff = std::max(params_diff, diff);
      params_scale = std::max(params_scale, scale);
    }
    result.max_abs_difference.emplace_back(name, diff);
  }
  result.parameters_relative = params_scale > 0 ? params_diff / params_scale : params_diff;
  return result;
}

}  // namespace shardnet::io
