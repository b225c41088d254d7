// shardnet: train, test, convert and inspect. `shardnet COMMAND --help` for each command's flags.
#include <exception>
#include <iostream>
#include <map>

#include "tools/commands.h"

namespace {

constexpr const char* kUsage =
    "usage: shardnet COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  train     train a model on an HDF5 data set\n"
    "  test      evaluate a checkpoint on an HDF5 data set\n"
    "  convert   convert data (MNIST IDX, CSV series, labelled text, sine) into shardnet's HDF5 layout\n"
    "  inspect   list what an HDF5 data set or checkpoint holds\n"
    "  launch    start train or test on N MPI ranks (mpirun underneath)\n"
    "  compare   how far apart two checkpoints are\n"
    "  time      time a model's training step, layer by layer\n"
    "\n"
    "`shardnet COMMAND --help` shows a command's options.\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace shardnet::tools;
  const std::map<std::string, int (*)(const Args&)> commands = {
      {"train", train_command}, {"test", test_command}, {"convert", convert_command}, {"inspect", inspect_command}, {"launch", launch_command}, {"compare", compare_command}, {"time", time_command}};
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
  } catch (const std::exception& e) {
    std::cerr << "shardnet " << name << ": error: " << e.what() << "\n";
    return 1;
  }
}
