// Checkpoints of hostile contents: a real checkpoint of a small net with Adam's state is written,
// then the fuzzer's bytes change it through the HDF5 API (tensors replaced by others of other
// shapes or types, removed or added, attributes rewritten with other values or types); the result
// is loaded into the net and, when it loads, one optimizer step and a forward pass are taken.
#include <hdf5.h>

#include <vector>

#include "core/model_file.h"
#include "io/checkpoint.h"
#include "io/hdf5.h"
#include "tests/fuzz/fuzz_input.h"

namespace {
using shardnet::fuzz::Bytes;

const char* kModel =
    "[input] shape = 1,5,5\n[conv] filters = 2 size = 3\n[batchnorm]\n[relu]\n[dense] outputs = 3\n"
    "[softmax_cross_entropy]\n";
const char* kTensors[] = {"/params/conv1/weight",
                          "/params/conv1/bias",
                          "/params/dense1/weight",
                          "/params/batchnorm1/gamma",
                          "/buffers/batchnorm1/running_var",
                          "/optimizer/conv1/weight/m",
                          "/optimizer/dense1/weight/v",
                          "/optimizer/batchnorm1/beta/m"};
const char* kAttributes[] = {"epoch",      "step",  "global_step", "global_batch", "seed",
                             "world_size", "model", "run_config",  "format",       "version"};

void replace_tensor(hid_t file, const char* name, Bytes& in) {
  H5Ldelete(file, name, H5P_DEFAULT);
  if (in.flag()) return;  // removed
  const int rank = static_cast<int>(in.below(5));
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  hsize_t n = 1;
  for (hsize_t& d : dims) n *= (d = in.below(5));
  const hid_t type = in.flag() ? H5T_NATIVE_FLOAT : (in.flag() ? H5T_NATIVE_INT32 : H5T_NATIVE_DOUBLE);
  hid_t space = rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, dims.data(), nullptr);
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  hid_t ds = H5Dcreate2(file, name, type, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
  std::vector<double> values(n);
  for (double& v : values) v = in.number();
  if (ds >= 0) {
    H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data());
    H5Dclose(ds);
  }
  H5Pclose(lcpl);
  H5Sclose(space);
}

void replace_attribute(hid_t obj, const char* name, Bytes& in) {
  H5Adelete(obj, name);
  shardnet::fuzz::expect_clean_errors([&] {
    switch (in.below(3)) {
      case 0:
        shardnet::io::write_int_attribute(obj, name, static_cast<int64_t>(in.word()) - (1 << 30));
        break;
      case 1: {
        std::string text;
        for (uint32_t i = in.below(40); i > 0; --i) text.push_back(static_cast<char>(in.byte()));
        shardnet::io::write_string_attribute(obj, name, text);
        break;
      }
      default:
        shardnet::io::write_float_list_attribute(obj, name, {in.number(), in.number()});
    }
  });
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace shardnet;
  static const std::string path = fuzz::scratch_path("checkpoint.h5");
  Bytes in(data, size);
  auto net = parse_model(kModel, "m.cfg");
  net->initialize(1);
  OptimizerConfig config;
  config.kind = OptimizerKind::kAdam;
  auto optimizer = make_optimizer(config);
  for (Param* p : net->params()) p->grad.fill(0.01f);
  optimizer->step(net->params(), 0.001f);
  io::save_checkpoint(path, *net, optimizer.get(), io::CheckpointMeta{kModel, 1, 2, 3, 8, 1, 1, "! seed = 1\n", {}});
  {
    io::H5Id file = io::open_file(path, true);
    for (int changes = 1 + static_cast<int>(in.below(4)); changes > 0; --changes) {
      if (in.flag()) {
        replace_tensor(file.get(), kTensors[in.below(8)], in);
      } else {
        const bool on_optimizer = in.byte() % 5 == 0;
        io::H5Id group(
            on_optimizer ? H5Gopen2(file.get(), "/optimizer", H5P_DEFAULT) : H5Gopen2(file.get(), "/", H5P_DEFAULT),
            H5Gclose);
        if (group.valid()) replace_attribute(group.get(), on_optimizer ? "step_count" : kAttributes[in.below(10)], in);
      }
    }
  }
  fuzz::expect_clean_errors([&] {
    auto fresh = parse_model(kModel, "m.cfg");
    auto adam = make_optimizer(config);
    io::read_checkpoint_meta(path);
    io::load_checkpoint(path, *fresh, adam.get());
    for (Param* p : fresh->params()) p->grad.fill(0.01f);
    adam->step(fresh->params(), 0.001f);  // slots of another shape would be written past here
    Batch batch;
    batch.data = Tensor({2, 1, 5, 5});
    batch.labels = {0, 2};
    fresh->forward_loss(batch, Mode::kEval);
  });
  return 0;
}
