// shardnet: train, test, convert and inspect. `shardnet COMMAND --help` for each command's flags.
#include <cstdlib>
#include <exception>
#include <iostream>
#include <map>

#include "core/blas_kernel.h"
#include "core/float_mode.h"
#include "core/trainer.h"
#include "dist/exit_status.h"
#include "tools/commands.h"

namespace {

constexpr const char* kUsage =
    "usage: shardnet COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  train     train a model on an HDF5 data set\n"
    "  test      evaluate a checkpoint on an HDF5 data set\n"
    "  predict   apply a checkpoint to image files, text lines, CSV series or HDF5 rows\n"
    "  report    one HTML page of the curves of run directories (training writes report.html itself)\n"
    "  convert   convert data (MNIST IDX, CSV series, labelled text, sine) into shardnet's HDF5 layout\n"
    "  inspect   list what an HDF5 data set or checkpoint holds\n"
    "  launch    start train or test on N MPI ranks (mpirun underneath)\n"
    "  compare   how far apart two checkpoints are\n"
    "  time      time a model's training step, layer by layer\n"
    "  layers    list the layer and loss types of model files, with their options\n"
    "  visualize PNGs of a trained net: filters, feature maps, saliency, Grad-CAM, reconstructions\n"
    "  neighbours  the nearest words of a trained net's word vectors, by cosine\n"
    "  export    write a trained net as an ONNX model, or its word vectors in the word2vec text format\n"
    "\n"
    "`shardnet COMMAND --help` shows a command's options.\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace shardnet::tools;
  shardnet::flush_denormals_on_this_thread();  // also done before the libraries load; see float_mode.h
  shardnet::ensure_best_blas_kernel(argv);     // may restart the program; its note goes into describe_blas()
  const std::map<std::string, int (*)(const Args&)> commands = {
      {"train", train_command},         {"test", test_command},
      {"convert", convert_command},     {"inspect", inspect_command},
      {"launch", launch_command},       {"compare", compare_command},
      {"time", time_command},           {"layers", layers_command},
      {"visualize", visualize_command}, {"neighbours", neighbours_command},
      {"export", export_command},       {"predict", predict_command},
      {"report", report_command}};
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    std::cout << kUsage;
    return argc < 2 ? 2 : 0;
  }
  const std::string name = argv[1];
  auto command = commands.find(name);
  if (command == commands.end()) {
    std::cerr << "shardnet: error: unknown command '" << name << "' (try shardnet --help)\n";
    return 2;
  }
  try {
    return command->second(Args(argv + 2, argv + argc));
  } catch (const UsageError& e) {
    std::cerr << "shardnet " << name << ": error: " << e.what() << " (try shardnet " << name << " --help)\n";
    return 2;
  } catch (const shardnet::DivergedError& e) {
    std::cerr << "shardnet " << name << ": error: " << e.what() << "\n";
    return shardnet::dist::kExitDiverged;
  } catch (const std::exception& e) {
    std::cerr << "shardnet " << name << ": error: " << e.what() << "\n";
    return 1;
  }
}
