#include "tools/run_setup.h"

#include <algorithm>
#include <numeric>
#include <cstdio>
#include <stdexcept>

#include "core/conv2d.h"
#include "core/gemm.h"
#include "core/loss.h"
#include "core/parallel.h"
#include "core/recurrent.h"
#include "io/dataset_writer.h"

namespace shardnet::tools {

void set_threads(int threads) {
  if (threads < 0) throw std::invalid_argument("--threads must be >= 0");
  shardnet::set_threads(threads);
}

void check_dataset_fits(Net& net, const io::Dataset& data, const std::string& model_path) {
  if (shape_numel(data.sample_shape()) != shape_numel(net.input_shape())) {
    throw std::runtime_error(data.path() + ": /data rows have shape " + shape_string(data.sample_shape()) +
                             " but the [input] of " + model_path + " is " + shape_string(net.input_shape()));
  }
  // Token ids index the first embedding table: a vocabulary larger than it would fail mid-training.
  for (size_t i = 0; i < net.size() && !data.vocab().empty(); ++i) {
    if (auto* embedding = dynamic_cast<Embedding*>(&net.layer(i))) {
      if (static_cast<int64_t>(data.vocab().size()) > embedding->vocab()) {
        throw std::runtime_error(data.path() + ": /vocab has " + std::to_string(data.vocab().size()) +
                                 " tokens but [embedding] " + embedding->name() + " of " + model_path +
                                 " has vocab = " + std::to_string(embedding->vocab()));
      }
      break;
    }
  }
  Loss* loss = net.loss();
  if (auto* ce = dynamic_cast<SoftmaxCrossEntropy*>(loss)) {
    if (!data.has_class_labels()) {
      throw std::runtime_error(data.path() + ": /label holds float targets, but " + model_path +
                               " ends in softmax_cross_entropy, which needs int32 class ids");
    }
    if (data.num_classes() > ce->classes()) {
      throw std::runtime_error(data.path() + ": has " + std::to_string(data.num_classes()) + " classes but " +
                               model_path + " outputs " + std::to_string(ce->classes()));
    }
  } else if (dynamic_cast<SigmoidCrossEntropy*>(loss) != nullptr && data.has_class_labels()) {
    if (shape_numel(net.output_shape()) != 1 || data.num_classes() > 2) {
      throw std::runtime_error(data.path() + ": has " + std::to_string(data.num_classes()) + " classes, but " +
                               model_path + " ends in sigmoid_cross_entropy on " +
                               shape_string(net.output_shape()) + " outputs: class ids need one output and 2 classes");
    }
  } else if (data.has_class_labels()) {
    throw std::runtime_error(data.path() + ": /label holds class ids, but " + model_path + " ends in " +
                             loss->type() + ", which needs float targets");
  } else if (shape_numel(data.target_shape()) != shape_numel(net.output_shape())) {
    throw std::runtime_error(data.path() + ": /label rows have shape " + shape_string(data.target_shape()) +
                             " but " + model_path + " outputs " + shape_string(net.output_shape()));
  }
}

void initialize_from_data(Net& net, BatchSource& data, int64_t samples) {
  for (size_t i = 0; i < net.size(); ++i) {
    auto* conv = dynamic_cast<Conv2D*>(&net.layer(i));
    if (conv == nullptr || !conv->whitens()) continue;
    for (size_t j = 0; j < i; ++j) {
      if (net.layer(j).type() != "augment") {
        throw std::runtime_error(conv->name() + ": whiten = 1 needs a conv that sees the data (only [augment] before it), but " +
                                 net.layer(j).name() + " comes first");
      }
    }
    std::vector<int64_t> rows(static_cast<size_t>(std::min(samples, data.size())));
    std::iota(rows.begin(), rows.end(), 0);
    Batch batch;
    data.read(rows, batch);
    Shape shape = net.input_shape();
    shape.insert(shape.begin(), batch.size());
    batch.data.reshape(shape);
    conv->initialize_whitening(batch.data);
  }
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

std::string describe_dataset(const io::Dataset& data) {
  return std::to_string(data.size()) + " x " + shape_string(data.sample_shape()) +
         " " + io::element_type_name(data.data_type()) +
         (data.has_class_labels() ? ", " + std::to_string(data.num_classes()) + " classes"
                                  : ", targets " + shape_string(data.target_shape()));
}

std::string join(const Args& args) {
  std::string out;
  for (const auto& a : args) out += (out.empty() ? "" : " ") + a;
  return out;
}

int run_on_all_ranks(const dist::Communicator& comm, const std::function<void()>& body) {
  if (comm.size() == 1) {
    body();
    return 0;
  }
  try {
    body();
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "shardnet: error on rank %d of %d: %s\n", comm.rank(), comm.size(), e.what());
    std::fflush(stderr);
    comm.abort(1);
  }
  return 0;
}

}  // namespace shardnet::tools
