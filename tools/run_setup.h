#pragma once
// Wiring shared by train and test: threads, and checking that a data set fits a model.
#include "core/net.h"
#include "io/dataset.h"

namespace shardnet::tools {

// Sets the BLAS thread count (0: leave OpenBLAS's default, which follows OPENBLAS_NUM_THREADS).
void set_threads(int threads);

// Throws with the file name when the data set's rows or labels do not fit the model.
void check_dataset_fits(Net& net, const io::Dataset& data, const std::string& model_path);

// Prints "test accuracy ..% (correct/count), loss .." (or the loss alone for regression).
void print_test_result(Net& net, const LossStats& stats);

}  // namespace shardnet::tools
