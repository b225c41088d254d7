#pragma once
// main() of a gtest binary that runs under mpirun: MPI (through the Communicator) for the whole
// run, gtest's report from rank 0 alone, and a failure on any rank fails every rank's exit status.
#include <gtest/gtest.h>

#include <span>

#include "dist/communicator.h"

namespace shardnet::dist {

inline int run_tests_on_all_ranks(int argc, char** argv, Communicator*& world) {
  ::testing::InitGoogleTest(&argc, argv);
  Communicator comm;
  world = &comm;
  if (comm.rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  const int failed = RUN_ALL_TESTS();
  double any = failed;
  comm.allreduce_sum(std::span<double>(&any, 1));
  world = nullptr;
  return any > 0 ? 1 : 0;
}

}  // namespace shardnet::dist
