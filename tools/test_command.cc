#include <cstdio>
#include <memory>
#include <vector>

#include "core/gemm.h"
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
  std::string model_path, data_path;
  std::vector<std::string> weights;
  int64_t batch = 500;
  int threads = 0;
  Precision precision = Precision::kFp32;
  // clang-format off
  options.add_options()
      ("weights,w", po::value(&weights)->required(),
       "checkpoint (HDF5) to evaluate; several: their ensemble (class probabilities averaged)")
      ("data,d", po::value(&data_path)->required(), "data set (HDF5)")
      ("model,m", po::value(&model_path), "model file (default: the model text stored in the checkpoint)")
      ("batch,b", po::value(&batch)->default_value(500), "evaluation batch size")
      ("threads", po::value(&threads)->default_value(0), "BLAS threads (0: OPENBLAS_NUM_THREADS or all cores)")
      ("precision", po::value(&precision)->default_value(precision, "fp32"),
       "fp32 | bf16: the layers' matrix products as in train --precision")
      ("flip", "average each image's output with that of its mirror image (test-time augmentation)");
  // clang-format on
  po::variables_map vm;
  if (!parse_options(args, "usage: shardnet test --weights FILE [--weights FILE...] --data FILE [--model FILE]",
                     options, vm)) {
    return 0;
  }
  if (batch <= 0) throw UsageError("--batch must be positive");
  set_threads(threads);
  const GemmPrecisionScope arithmetic(precision);

  dist::Communicator comm;
  return run_on_all_ranks(comm, [&] {
    // Each member with its own stored model text (or the one --model file for all).
    std::vector<std::unique_ptr<Net>> nets;
    std::vector<CheckpointModel> models;
    std::string model_text;
    for (const std::string& member : weights) {
      const CheckpointModel& model = models.emplace_back(checkpoint_model(member, model_path));
      auto net = parse_model(model.text, model.name);
      if (vm.count("flip") && net->input_shape().size() != 3) {
        throw std::runtime_error("--flip: flip averaging needs image inputs (channels, height, width), " + model.name +
                                 " takes " + shape_string(net->input_shape()));
      }
      io::load_checkpoint(member, *net, nullptr);
      model_text += model.text;
      nets.push_back(std::move(net));
    }
    io::Dataset data(data_path);
    for (size_t i = 0; i < nets.size(); ++i) nets[i]->check_data(data.description(), models[i].name);
    dist::check_same_on_all_ranks(comm, {{"model", model_text}, {"data", dist::describe_dataset(data)}});
    dist::GradientSync sums(comm);
    const bool flip = vm.count("flip") > 0;
    if (nets.size() == 1) {
      const LossStats t = evaluate(*nets.front(), data, batch, sums, flip);
      if (comm.rank() == 0) print_test_result(*nets.front(), t);
      return 0;
    }
    std::vector<Net*> members;
    for (auto& net : nets) {
      members.push_back(net.get());
      const LossStats t = evaluate(*net, data, batch, sums, flip);
      if (comm.rank() == 0) {
        std::printf("%s: ", weights[members.size() - 1].c_str());
        print_test_result(*net, t);
      }
    }
    const LossStats t = evaluate_ensemble(members, data, batch, sums, flip);
    if (comm.rank() == 0) {
      std::printf("ensemble of %zu: ", members.size());
      print_test_result(*nets.front(), t);
    }
    return 0;
  });
}

}  // namespace shardnet::tools
