// Run under mpirun -np 2 by stall_inspector_test.sh: trains a small net for about 3 s with the
// stall inspector at --stall-warning 1 --stall-timeout 4.
//   stall_inspector_probe healthy       must finish with exit status 0 and no stall line; rank 0
//                                       prints how many heartbeats it received
//   stall_inspector_probe blocked-read  rank 1's data source blocks in read(2) on a pipe that
//                                       nobody writes (as a read from a hung file server does)
//                                       from its 6th batch on: the job must end with status 70
//                                       and rank 0 naming rank 1 as alive but blocked
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "core/model_file.h"
#include "core/trainer.h"
#include "dist/gradient_sync.h"
#include "dist/stall_inspector.h"

namespace shardnet {
namespace {

class SlowSource : public BatchSource {
 public:
  explicit SlowSource(bool block_after_five) : block_(block_after_five) {}
  int64_t size() const override { return 4096; }
  Shape sample_shape() const override { return {16}; }
  void read(std::span<const int64_t> rows, Batch& batch) override {
    if (block_ && ++reads_ > 5) {
      int never_written[2];
      if (pipe(never_written) == 0) {
        char byte;
        const ssize_t ignored = ::read(never_written[0], &byte, 1);  // blocks: the write end stays open
        (void)ignored;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    batch.data.reshape({static_cast<int64_t>(rows.size()), 16});
    batch.labels.resize(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      batch.labels[i] = static_cast<int32_t>(rows[i] % 10);
      for (int64_t j = 0; j < 16; ++j) batch.data[static_cast<int64_t>(i) * 16 + j] = j == rows[i] % 10 ? 1.0f : 0.0f;
    }
  }

 private:
  bool block_;
  int reads_ = 0;
};

}  // namespace
}  // namespace shardnet

int main(int argc, char** argv) {
  using namespace shardnet;
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode != "healthy" && mode != "blocked-read") {
    std::fprintf(stderr, "usage: stall_inspector_probe healthy|blocked-read\n");
    return 2;
  }
  dist::Communicator comm;
  const dist::StallInspector inspector(comm, {1.0, 4.0});
  auto net = parse_model("[input] shape = 16\n[dense] outputs = 10\n[softmax_cross_entropy]\n", "probe");
  net->initialize(1);
  auto optimizer = make_optimizer(OptimizerConfig{});
  dist::GradientSync sync(comm);
  TrainOptions options;
  options.global_batch = 32;
  options.epochs = 3;
  options.max_steps = 300;
  SlowSource source(mode == "blocked-read" && comm.rank() == 1);
  TrainObserver quiet;
  Trainer(*net, *optimizer, sync, options).fit(source, nullptr, quiet);
  if (comm.rank() == 0)
    std::printf("heartbeats received by rank 0: %llu\n",
                static_cast<unsigned long long>(inspector.heartbeats_received()));
  return 0;
}
