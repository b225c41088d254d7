#pragma once
// The shardnet subcommands. Each takes the arguments after its name and returns the exit status;
// errors are thrown and reported by main() as one line.
#include <stdexcept>
#include <string>
#include <vector>

namespace shardnet::tools {

using Args = std::vector<std::string>;

int train_command(const Args& args);
int test_command(const Args& args);
int convert_command(const Args& args);
int inspect_command(const Args& args);
int launch_command(const Args& args);
int compare_command(const Args& args);
int time_command(const Args& args);
int layers_command(const Args& args);
int visualize_command(const Args& args);
int neighbours_command(const Args& args);
int export_command(const Args& args);
int predict_command(const Args& args);
int report_command(const Args& args);

// Thrown for a wrong command line; main() prints it with a hint to use --help.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace shardnet::tools
