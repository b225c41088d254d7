#pragma once
// Wiring shared by train and test: threads, and checking that a data set fits a model.
#include <functional>
#include <string>

#include "core/net.h"
#include "dist/communicator.h"
#include "tools/commands.h"
#include "io/dataset.h"

namespace shardnet::tools {

// Sets the BLAS thread count (0: leave OpenBLAS's default, which follows OPENBLAS_NUM_THREADS).
void set_threads(int threads);

// Rows a data-initialised layer (a whitening conv) reads.
constexpr int64_t kWhiteningSamples = 5000;

// Prints "test accuracy ..% (correct/count), loss .." (or the loss alone for regression).
void print_test_result(Net& net, const LossStats& stats);

// "60000 x (1, 28, 28) uint8, int32 labels": what must agree across ranks.
std::string describe_dataset(const io::Dataset& data);
std::string join(const Args& args);

// Runs `body` and returns 0. In a job of several ranks, an exception on one rank is printed with
// its rank and ends the whole job at once (MPI_Abort), so no other rank waits forever in a
// collective; with one rank it propagates to main() as usual.
int run_on_all_ranks(const dist::Communicator& comm, const std::function<void()>& body);

}  // namespace shardnet::tools
