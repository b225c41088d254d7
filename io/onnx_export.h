#pragma once
// A trained net as an ONNX model (opset 13), written through ONNX's own protobuf definitions
// (Debian's libonnx-dev): the graph input "input" (batch, sample shape...), float32, and one output
// "output", the last layer's output before the loss (logits for a classifier), with the batch
// dimension symbolic. Evaluation-mode semantics: BatchNorm with its running statistics, dropout and
// augmentation as the identity. Recurrent layers read every step unless the graph also takes
// "lengths" (batch,) int32, each sequence's true length (ONNX's sequence_lens), as a net trained on
// padded sequences (text, with /length) needs.
#include <stdexcept>
#include <string>
#include <vector>

#include "core/net.h"

namespace shardnet::io {

class OnnxExportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

constexpr int64_t kOnnxOpset = 13;

// The layer types export_onnx can write, each with the ONNX operators it becomes.
struct OnnxLayerMapping {
  std::string layer, operators;
};
const std::vector<OnnxLayerMapping>& onnx_layer_mappings();

// Writes `net` to `path`; a layer type ONNX cannot express (or that is not mapped) is an
// OnnxExportError naming the layer. Returns the operators used, in graph order, one per node.
struct OnnxExportOptions {
  bool sequence_lengths = false;  // a second input "lengths" for the recurrent layers
};
std::vector<std::string> export_onnx(Net& net, const std::string& path, const std::string& graph_name,
                                     const OnnxExportOptions& options = {});

}  // namespace shardnet::io
