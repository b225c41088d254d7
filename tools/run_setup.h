#pragma once
// What the commands share: thread count, printing test results, errors on one rank of many.
#include <functional>
#include <string>

#include "core/net.h"
#include "dist/communicator.h"
#include "tools/commands.h"

namespace shardnet::tools {

// Sets the BLAS thread count (0: leave OpenBLAS's default, which follows OPENBLAS_NUM_THREADS).
void set_threads(int threads);

// Prints "test accuracy ..% (correct/count), loss .." (or the loss alone for regression).
void print_test_result(Net& net, const LossStats& stats);

std::string join(const Args& args);

// The model a checkpoint is evaluated with: the text stored in it, or `model_path`'s when one is
// given, and the name its errors go by.
struct CheckpointModel {
  std::string text, name;
};
CheckpointModel checkpoint_model(const std::string& weights, const std::string& model_path = "");

// Runs `body` and returns its exit status. In a job of several ranks, an exception on one rank is
// printed with its rank and ends the whole job at once (MPI_Abort, with status 65 for a diverged
// run and 1 otherwise), so no other rank waits forever in a collective; with one rank it
// propagates to main() as usual.
int run_on_all_ranks(const dist::Communicator& comm, const std::function<int()>& body);

}  // namespace shardnet::tools
