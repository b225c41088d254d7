#include "tools/run_setup.h"

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <stdexcept>

#include "core/gemm.h"
#include "core/model_file.h"
#include "core/parallel.h"
#include "core/trainer.h"
#include "dist/exit_status.h"
#include "io/checkpoint.h"
#include "io/dataset_writer.h"

namespace shardnet::tools {

void set_threads(int threads) {
  if (threads < 0) throw std::invalid_argument("--threads must be >= 0");
  shardnet::set_threads(threads);
}

void print_test_result(Net& net, const LossStats& t) {
  const double n = static_cast<double>(std::max<int64_t>(t.count, 1));
  if (net.loss()->is_classifier()) {
    std::printf("test accuracy %.2f%% (%lld/%lld), loss %.4f\n", 100.0 * static_cast<double>(t.correct) / n,
                static_cast<long long>(t.correct), static_cast<long long>(t.count), t.loss_sum / n);
  } else {
    std::printf("test loss %.6f (%lld samples)\n", t.loss_sum / n, static_cast<long long>(t.count));
  }
}

CheckpointModel checkpoint_model(const std::string& weights, const std::string& model_path) {
  if (model_path.empty()) return {io::read_checkpoint_meta(weights).model_text, weights + " (stored model)"};
  return {read_text_file(model_path), model_path};
}

std::string join(const Args& args) {
  std::string out;
  for (const auto& a : args) out += (out.empty() ? "" : " ") + a;
  return out;
}

int run_on_all_ranks(const dist::Communicator& comm, const std::function<int()>& body) {
  if (comm.size() == 1) return body();
  try {
    return body();
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "shardnet: error on rank %d of %d: %s\n", comm.rank(), comm.size(), e.what());
    std::fflush(stderr);
    comm.abort(dynamic_cast<const DivergedError*>(&e) != nullptr ? dist::kExitDiverged : dist::kExitFailed);
  }
}

}  // namespace shardnet::tools
