// shardnet report: one page comparing the curves of several run directories.
#include <cstdio>

#include "io/run_report.h"
#include "tools/commands.h"
#include "tools/options.h"
#include "tools/run_setup.h"

namespace shardnet::tools {

int report_command(const Args& args) {
  po::options_description options("report options");
  std::vector<std::string> runs;
  std::string out, title;
  // clang-format off
  options.add_options()
      ("run", po::value(&runs), "run directories (each with its metrics.csv)")
      ("out,o", po::value(&out)->default_value("report.html"), "the page to write")
      ("title", po::value(&title), "the page's title (default: the run directories)");
  // clang-format on
  po::positional_options_description positional;
  positional.add("run", -1);
  po::variables_map vm;
  if (!parse_options(args, "usage: shardnet report RUN_DIR... [--out report.html]", options, vm, &positional)) return 0;
  if (runs.empty()) throw UsageError("give at least one run directory");
  if (title.empty()) title = join(runs);
  io::write_run_report(runs, out, title);
  std::printf("wrote %s: %zu run(s)\n", out.c_str(), runs.size());
  return 0;
}

}  // namespace shardnet::tools
