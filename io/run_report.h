#pragma once
// The report of training runs: one self-contained HTML page (uPlot and the page's script compiled
// in, the data inline: it opens offline, from anywhere) drawn from each run directory's files:
//   metrics.csv  a row per epoch (loss, accuracy, lr, samples/s, phase seconds)
//   steps.csv    a row per --log-every window of steps (loss, lr), when logged
//   ranks.csv    each rank's phase seconds per epoch (its allreduce wait)
//   model.cfg, command.txt
// Training rewrites <run dir>/report.html at every epoch; `shardnet report RUN...` draws several
// runs side by side.
#include <stdexcept>
#include <string>
#include <vector>

namespace shardnet::io {

class ReportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The page for `run_dirs` (each needs a metrics.csv; a malformed file is a ReportError naming it
// and the line).
std::string run_report_html(const std::vector<std::string>& run_dirs, const std::string& title);
// Writes it to `path` through a temporary file: a reader never sees half a page.
void write_run_report(const std::vector<std::string>& run_dirs, const std::string& path, const std::string& title);

}  // namespace shardnet::io
