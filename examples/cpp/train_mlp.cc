// Trains a multilayer perceptron on an HDF5 data set through shardnet's C++ API, on as many ranks
// as it is started on (mpirun -np N train_mlp DATA.h5 [EPOCHS]): the net is built in code, the
// gradients are averaged over the ranks every step, and the training set is scored at the end.
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "core/activation.h"
#include "core/dense.h"
#include "core/loss.h"
#include "core/net.h"
#include "core/optimizer.h"
#include "core/trainer.h"
#include "dist/communicator.h"
#include "dist/gradient_sync.h"
#include "io/dataset.h"

namespace {

// Prints each epoch's figures on rank 0.
class EpochPrinter : public shardnet::TrainObserver {
 public:
  explicit EpochPrinter(bool leader) : leader_(leader) {}
  void on_epoch(const shardnet::EpochReport& r) override {
    if (leader_)
      std::printf("epoch %lld: loss %.4f, accuracy %.2f%%\n", static_cast<long long>(r.epoch + 1), r.train_loss,
                  100.0 * r.train_accuracy);
  }

 private:
  bool leader_;
};

int run(int argc, char** argv) {
  using namespace shardnet;
  if (argc < 2) {
    std::fprintf(stderr, "usage: train_mlp DATA.h5 [EPOCHS]\n");
    return 2;
  }
  dist::Communicator comm;  // MPI when started by mpirun, else a world of one
  io::Dataset data(argv[1]);
  const int64_t classes = data.num_classes();

  Net net(data.sample_shape());
  net.add(std::make_unique<Flatten>("flatten"));
  net.add(std::make_unique<Dense>("hidden", 64));
  net.add(std::make_unique<ReLU>("relu"));
  net.add(std::make_unique<Dense>("out", classes));
  net.set_loss(std::make_unique<SoftmaxCrossEntropy>());
  net.check_data(data.description(), "train_mlp");
  net.initialize(1);
  dist::broadcast_parameters(comm, net.params());  // every rank starts from rank 0's weights

  OptimizerConfig sgd;
  sgd.kind = OptimizerKind::kMomentum;
  auto optimizer = make_optimizer(sgd);
  TrainOptions options;
  options.epochs = argc > 2 ? std::atoi(argv[2]) : 3;
  options.global_batch = 64;  // split over the ranks
  options.lr.base = 0.05f;
  dist::GradientSync gradients(comm);  // bucketed allreduce, overlapped with backward
  Trainer trainer(net, *optimizer, gradients, options);
  EpochPrinter printer(comm.rank() == 0);
  trainer.fit(data, nullptr, printer);

  const LossStats score = evaluate(net, data, 500, gradients);
  if (comm.rank() == 0) {
    std::printf("%d rank(s): training accuracy %.2f%% (%lld/%lld)\n", comm.size(),
                100.0 * static_cast<double>(score.correct) / static_cast<double>(score.count),
                static_cast<long long>(score.correct), static_cast<long long>(score.count));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "train_mlp: error: %s\n", e.what());
    return 1;
  }
}
