// shardnet compare A.h5 B.h5: how far apart two checkpoints' parameters (and optimizer state) are.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <set>

#include "io/hdf5.h"
#include "tools/commands.h"
#include "tools/options.h"

namespace shardnet::tools {
namespace {

herr_t collect(hid_t, const char* name, const H5O_info_t* info, void* out) {
  if (info->type == H5O_TYPE_DATASET) static_cast<std::set<std::string>*>(out)->insert(name);
  return 0;
}

std::set<std::string> datasets(hid_t file, const std::string& path) {
  std::set<std::string> names;
  io::h5_check(H5Ovisit2(file, H5_INDEX_NAME, H5_ITER_NATIVE, collect, &names, H5O_INFO_BASIC), path + ": listing");
  return names;
}

std::vector<float> read_all(hid_t file, const std::string& name, const std::string& path) {
  io::H5Id ds = io::open_dataset(file, name, path);
  const auto dims = io::dataset_dims(ds.get(), path);
  hsize_t n = 1;
  for (hsize_t d : dims) n *= d;
  std::vector<float> values(n);
  io::read_float_dataset(file, name, dims, values.data(), path);
  return values;
}

}  // namespace

int compare_command(const Args& args) {
  po::options_description options("compare options");
  std::string a_path, b_path;
  double tolerance = -1.0;
  options.add_options()
      ("a", po::value(&a_path)->required(), "first checkpoint")
      ("b", po::value(&b_path)->required(), "second checkpoint")
      ("tolerance", po::value(&tolerance)->default_value(-1.0, "none"),
       "exit 1 when max |a - b| / max |a| over the parameters exceeds this");
  po::positional_options_description positional;
  positional.add("a", 1).add("b", 1);
  po::variables_map vm;
  if (!parse_options(args, "usage: shardnet compare A.h5 B.h5 [--tolerance REL]", options, vm, &positional)) return 0;
  io::H5Id a = io::open_file(a_path, false), b = io::open_file(b_path, false);
  const auto names_a = datasets(a.get(), a_path), names_b = datasets(b.get(), b_path);
  if (names_a != names_b) throw std::runtime_error(a_path + " and " + b_path + " do not hold the same data sets");
  double params_diff = 0.0, params_scale = 0.0;
  bool identical = true;
  for (const std::string& name : names_a) {
    const auto va = read_all(a.get(), name, a_path), vb = read_all(b.get(), name, b_path);
    if (va.size() != vb.size()) throw std::runtime_error(name + " has different sizes in the two files");
    double diff = 0.0, scale = 0.0;
    for (size_t i = 0; i < va.size(); ++i) {
      diff = std::max(diff, static_cast<double>(std::abs(va[i] - vb[i])));
      scale = std::max(scale, static_cast<double>(std::abs(va[i])));
      identical = identical && std::memcmp(&va[i], &vb[i], sizeof(float)) == 0;
    }
    if (name.rfind("params/", 0) == 0) {
      params_diff = std::max(params_diff, diff);
      params_scale = std::max(params_scale, scale);
    }
    std::printf("%-40s max |a - b| %.3g\n", name.c_str(), diff);
  }
  const double relative = params_scale > 0 ? params_diff / params_scale : params_diff;
  std::printf("parameters: max |a - b| / max |a| = %.3g%s\n", relative, identical ? " (bitwise identical, all data sets)" : "");
  return tolerance >= 0.0 && relative > tolerance ? 1 : 0;
}

}  // namespace shardnet::tools
