#include "core/prediction.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <string>

namespace shardnet {

Tensor predict_outputs(Net& net, std::span<const float> data, std::span<const int32_t> lengths, int64_t batch_size) {
  const int64_t row_size = shape_numel(net.input_shape()), outputs = shape_numel(net.output_shape());
  if (batch_size <= 0) throw std::invalid_argument("the prediction batch must be positive");
  if (row_size == 0 || data.size() % static_cast<size_t>(row_size) != 0) {
    throw std::invalid_argument("prediction rows of " + std::to_string(data.size()) + " values are not whole rows of " +
                                shape_string(net.input_shape()));
  }
  const auto rows = static_cast<int64_t>(data.size()) / row_size;
  if (!lengths.empty() && static_cast<int64_t>(lengths.size()) != rows) {
    throw std::invalid_argument(std::to_string(lengths.size()) + " sequence lengths for " + std::to_string(rows) +
                                " rows");
  }
  Tensor result({rows, outputs});
  Batch batch;
  for (int64_t first = 0; first < rows; first += batch_size) {
    const int64_t n = std::min(batch_size, rows - first);
    Shape shape = net.input_shape();
    shape.insert(shape.begin(), n);
    batch.data.reshape(shape);
    std::copy_n(data.begin() + first * row_size, n * row_size, batch.data.data());
    batch.rows.resize(static_cast<size_t>(n));
    std::iota(batch.rows.begin(), batch.rows.end(), first);
    if (!lengths.empty()) batch.lengths.assign(lengths.begin() + first, lengths.begin() + first + n);
    const Tensor& out = net.forward(batch, Mode::kEval);
    std::copy_n(out.data(), n * outputs, result.data() + first * outputs);
  }
  return result;
}

std::vector<ClassScore> top_classes(const Loss& loss, const float* output, int64_t outputs, int64_t k) {
  const std::vector<double> scores = loss.class_scores(output, outputs);
  std::vector<ClassScore> ranked(scores.size());
  for (size_t j = 0; j < scores.size(); ++j) ranked[j] = {static_cast<int64_t>(j), scores[j]};
  const auto keep = static_cast<size_t>(std::clamp<int64_t>(k, 0, static_cast<int64_t>(ranked.size())));
  std::partial_sort(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(keep), ranked.end(),
                    [](const ClassScore& a, const ClassScore& b) {
                      return a.score != b.score ? a.score > b.score : a.index < b.index;
                    });
  ranked.resize(keep);
  return ranked;
}

}  // namespace shardnet
