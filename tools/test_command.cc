#include <cstdio>

#include "core/model_file.h"
#include "core/trainer.h"
#include "dist/gradient_sync.h"
#include "dist/training_run.h"
#include "io/checkpoint.h"
#include "io/dataset.h"
#include "tools/commands.h"
#include "tools/options.h"
#include "tools/run_setup.h"

namespace shardnet::tools {

int test_command(const Args& args) {
  po::options_description options("test options");
  std::string model_path, weights, data_path;
  int64_t batch = 500;
  int threads = 0;
  // clang-format off
  options.add_options()
      ("weights,w", po::value(&weights)->required(), "checkpoint (HDF5) to evaluate")
      ("data,d", po::value(&data_path)->required(), "data set (HDF5)")
      ("model,m", po::value(&model_path), "model file (default: the model text stored in the checkpoint)")
      ("batch,b", po::value(&batch)->default_value(500), "evaluation batch size")
      ("threads", po::value(&threads)->default_value(0), "BLAS threads (0: OPENBLAS_NUM_THREADS or all cores)")
      ("flip", "average each image's output with that of its mirror image (test-time augmentation)");
  // clang-format on
  po::variables_map vm;
  if (!parse_options(args, "usage: shardnet test --weights FILE --data FILE [--model FILE]", options, vm)) return 0;
  if (batch <= 0) throw UsageError("--batch must be positive");
  set_threads(threads);

  dist::Communicator comm;
  return run_on_all_ranks(comm, [&] {
    std::string model_text, model_name = model_path;
    if (model_path.empty()) {
      model_text = io::read_checkpoint_meta(weights).model_text;
      model_name = weights + " (stored model)";
    } else {
      model_text = read_text_file(model_path);
    }
    auto net = parse_model(model_text, model_name);
    if (vm.count("flip") && net->input_shape().size() != 3) {
      throw std::runtime_error("--flip: flip averaging needs image inputs (channels, height, width), " + model_name +
                               " takes " + shape_string(net->input_shape()));
    }
    io::load_checkpoint(weights, *net, nullptr);
    io::Dataset data(data_path);
    net->check_data(data.description(), model_name);
    dist::check_same_on_all_ranks(comm, {{"model", model_text}, {"data", dist::describe_dataset(data)}});
    dist::GradientSync sums(comm);
    const LossStats t = evaluate(*net, data, batch, sums, vm.count("flip") > 0);
    if (comm.rank() == 0) print_test_result(*net, t);
    return 0;
  });
}

}  // namespace shardnet::tools
