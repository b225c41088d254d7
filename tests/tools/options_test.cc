#include "tools/options.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace shardnet::tools {
namespace {

struct Parsed {
  int64_t epochs = 0;
  double lr = 0;
  bool overwrite = false;
  std::vector<std::string> mca, files;
};

Parsed parse(const Args& args) {
  Parsed p;
  po::options_description options("options");
  // clang-format off
  options.add_options()
      ("epochs", po::value(&p.epochs)->default_value(5), "")
      ("lr", po::value(&p.lr), "")
      ("overwrite", po::bool_switch(&p.overwrite), "")
      ("mca", po::value(&p.mca)->multitoken(), "")
      ("file", po::value(&p.files), "");
  // clang-format on
  po::variables_map vm;
  EXPECT_TRUE(parse_options(args, "usage", options, vm));
  return p;
}

TEST(Options, ARepeatedValueOptionKeepsItsLastValue) {
  const Parsed p = parse({"--epochs", "12", "--lr", "0.1", "--epochs", "30", "--lr=0.5", "--overwrite", "--overwrite"});
  EXPECT_EQ(p.epochs, 30);
  EXPECT_DOUBLE_EQ(p.lr, 0.5);
  EXPECT_TRUE(p.overwrite);
}

TEST(Options, ListOptionsCollectEveryOccurrenceInOrder) {
  const Parsed p = parse({"--file", "a", "--epochs", "2", "--file", "b", "--mca", "x=1", "y=2", "--mca", "z=3"});
  EXPECT_EQ(p.files, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(p.mca, (std::vector<std::string>{"x=1", "y=2", "z=3"}));
  EXPECT_EQ(p.epochs, 2);
}

TEST(Options, ABadValueIsStillAnErrorWhereverItStands) {
  EXPECT_THROW(parse({"--epochs", "many", "--epochs", "3"}), UsageError);
  EXPECT_THROW(parse({"--epochs", "3", "--unknown", "1"}), UsageError);
}

}  // namespace
}  // namespace shardnet::tools
