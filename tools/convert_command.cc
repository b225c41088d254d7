#include <cstdio>
#include <filesystem>

#include "io/idx.h"
#include "tools/commands.h"
#include "tools/options.h"

namespace shardnet::tools {
namespace fs = std::filesystem;
namespace {

// "train-images-idx3-ubyte" or its .gz, whichever is in `dir`.
std::string find_idx(const fs::path& dir, const std::string& stem) {
  for (const std::string& name : {stem, stem + ".gz"}) {
    if (fs::exists(dir / name)) return (dir / name).string();
  }
  throw std::runtime_error(dir.string() + ": no " + stem + " or " + stem + ".gz");
}

void report(const std::string& out, const io::MnistConversion& c) {
  std::printf("wrote %s: %lld images of 1x%lldx%lld\n", out.c_str(), static_cast<long long>(c.rows),
              static_cast<long long>(c.height), static_cast<long long>(c.width));
}

int convert_mnist(const Args& args) {
  po::options_description options("convert mnist options");
  std::string src, out;
  int gzip = 0;
  options.add_options()
      ("source", po::value(&src)->required(), "folder with the four MNIST IDX files (raw or .gz)")
      ("out", po::value(&out)->required(), "output folder for mnist-train.h5 and mnist-test.h5")
      ("gzip", po::value(&gzip)->default_value(0), "gzip level for /data (0-9, 0: none)");
  po::positional_options_description positional;
  positional.add("source", 1).add("out", 1);
  po::variables_map vm;
  if (!parse_options(args, "usage: shardnet convert mnist SOURCE_DIR OUT_DIR", options, vm, &positional)) return 0;
  if (gzip < 0 || gzip > 9) throw UsageError("--gzip must be in 0..9");
  fs::create_directories(out);
  for (const auto& [prefix, name] : {std::pair{"train", "mnist-train.h5"}, std::pair{"t10k", "mnist-test.h5"}}) {
    const std::string images = find_idx(src, std::string(prefix) + "-images-idx3-ubyte");
    const std::string labels = find_idx(src, std::string(prefix) + "-labels-idx1-ubyte");
    const std::string target = (fs::path(out) / name).string();
    report(target, io::convert_idx_pair(images, labels, target, gzip));
  }
  return 0;
}

int convert_idx(const Args& args) {
  po::options_description options("convert idx options");
  std::string images, labels, out;
  int gzip = 0;
  options.add_options()
      ("images", po::value(&images)->required(), "IDX image file (raw or .gz)")
      ("labels", po::value(&labels)->required(), "IDX label file (raw or .gz)")
      ("out", po::value(&out)->required(), "output HDF5 file")
      ("gzip", po::value(&gzip)->default_value(0), "gzip level for /data (0-9, 0: none)");
  po::positional_options_description positional;
  positional.add("out", 1);
  po::variables_map vm;
  if (!parse_options(args, "usage: shardnet convert idx --images FILE --labels FILE OUT.h5", options, vm, &positional))
    return 0;
  if (gzip < 0 || gzip > 9) throw UsageError("--gzip must be in 0..9");
  report(out, io::convert_idx_pair(images, labels, out, gzip));
  return 0;
}

}  // namespace

int convert_command(const Args& args) {
  const std::string usage =
      "usage: shardnet convert FORMAT ...\n"
      "formats:\n"
      "  mnist SOURCE_DIR OUT_DIR                     the four MNIST IDX files -> mnist-{train,test}.h5\n"
      "  idx --images FILE --labels FILE OUT.h5       one IDX image/label pair -> OUT.h5\n";
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::printf("%s", usage.c_str());
    return args.empty() ? 2 : 0;
  }
  const Args rest(args.begin() + 1, args.end());
  if (args[0] == "mnist") return convert_mnist(rest);
  if (args[0] == "idx") return convert_idx(rest);
  throw UsageError("unknown format '" + args[0] + "' (expected mnist or idx)");
}

}  // namespace shardnet::tools
