#include "io/onnx_export.h"

#include <onnx/onnx_pb.h>

#include <array>
#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <set>

#include "core/activation.h"
#include "core/batchnorm.h"
#include "core/conv2d.h"
#include "core/deconv2d.h"
#include "core/dense.h"
#include "core/pooling.h"
#include "core/prelu.h"
#include "core/recurrent.h"
#include "core/upsample.h"
#include "io/checkpoint.h"

namespace shardnet::io {
namespace {

// The graph under construction: unique tensor names, initializers, nodes.
class GraphBuilder {
 public:
  explicit GraphBuilder(onnx::GraphProto* graph) : graph_(graph) {}

  std::string name(const std::string& base) { return base + "_" + std::to_string(counter_++); }

  std::string floats(const std::string& base, const std::vector<int64_t>& dims, const float* values) {
    onnx::TensorProto* t = graph_->add_initializer();
    std::string n = name(base);
    t->set_name(n);
    t->set_data_type(onnx::TensorProto_DataType_FLOAT);
    int64_t count = 1;
    for (int64_t d : dims) {
      t->add_dims(d);
      count *= d;
    }
    t->mutable_float_data()->Add(values, values + count);
    return n;
  }
  std::string scalar(const std::string& base, float value) { return floats(base, {}, &value); }

  std::string int64s(const std::string& base, const std::vector<int64_t>& values) {
    onnx::TensorProto* t = graph_->add_initializer();
    std::string n = name(base);
    t->set_name(n);
    t->set_data_type(onnx::TensorProto_DataType_INT64);
    t->add_dims(static_cast<int64_t>(values.size()));
    for (int64_t v : values) t->add_int64_data(v);
    return n;
  }

  // Adds a node of `op` on `inputs` and returns its (one) output.
  std::string node(const std::string& op, const std::vector<std::string>& inputs,
                   const std::function<void(onnx::NodeProto&)>& attributes = {}) {
    return node_outputs(op, inputs, 1, attributes).front();
  }
  std::vector<std::string> node_outputs(const std::string& op, const std::vector<std::string>& inputs, int outputs,
                                        const std::function<void(onnx::NodeProto&)>& attributes = {}) {
    onnx::NodeProto* n = graph_->add_node();
    n->set_op_type(op);
    n->set_name(name(op));
    for (const auto& input : inputs) n->add_input(input);
    std::vector<std::string> out;
    for (int i = 0; i < outputs; ++i) {
      out.push_back(name(op + "_out"));
      n->add_output(out.back());
    }
    if (attributes) attributes(*n);
    operators_.push_back(op);
    return out;
  }
  const std::vector<std::string>& operators() const { return operators_; }

 private:
  onnx::GraphProto* graph_;
  int64_t counter_ = 0;
  std::vector<std::string> operators_;
};

void set_int(onnx::NodeProto& n, const std::string& key, int64_t value) {
  onnx::AttributeProto* a = n.add_attribute();
  a->set_name(key);
  a->set_type(onnx::AttributeProto_AttributeType_INT);
  a->set_i(value);
}
void set_ints(onnx::NodeProto& n, const std::string& key, const std::vector<int64_t>& values) {
  onnx::AttributeProto* a = n.add_attribute();
  a->set_name(key);
  a->set_type(onnx::AttributeProto_AttributeType_INTS);
  for (int64_t v : values) a->add_ints(v);
}
void set_float(onnx::NodeProto& n, const std::string& key, float value) {
  onnx::AttributeProto* a = n.add_attribute();
  a->set_name(key);
  a->set_type(onnx::AttributeProto_AttributeType_FLOAT);
  a->set_f(value);
}
void set_string(onnx::NodeProto& n, const std::string& key, const std::string& value) {
  onnx::AttributeProto* a = n.add_attribute();
  a->set_name(key);
  a->set_type(onnx::AttributeProto_AttributeType_STRING);
  a->set_s(value);
}

// The window attributes Conv, ConvTranspose and the pools share (pads: begin and end of each axis).
void set_window(onnx::NodeProto& n, int64_t size_h, int64_t size_w, int64_t stride_h, int64_t stride_w, int64_t pad_h,
                int64_t pad_w) {
  set_ints(n, "kernel_shape", {size_h, size_w});
  set_ints(n, "strides", {stride_h, stride_w});
  set_ints(n, "pads", {pad_h, pad_w, pad_h, pad_w});
}

std::vector<int64_t> dims_of(const Tensor& t) { return {t.shape().begin(), t.shape().end()}; }
// A Param or a Buffer as an initializer under its own name.
template <class Stored>
std::string param(GraphBuilder& g, const Stored& p) {
  return g.floats(p.name, dims_of(p.value), p.value.data());
}

// Reshape to (batch, sample...).
std::string reshape_to(GraphBuilder& g, const std::string& x, const Shape& sample) {
  std::vector<int64_t> shape = {-1};
  shape.insert(shape.end(), sample.begin(), sample.end());
  return g.node("Reshape", {x, g.int64s("shape", shape)});
}

// One layer: the exported tensor after it, from `x` (the tensor before it, of sample shape `in`).
// What later layers need of earlier ones: a max pool's argmax indices, for the unpool that names it.
struct PoolIndices {
  std::string indices, input;  // MaxPool's second output; the pool's input (its shape is the unpool's)
  int64_t size = 0, stride = 0, pad = 0;
  bool input_size_lost = false;  // the pool's floor dropped rows or columns: the unpool needs output_shape
};
struct ExportState {
  std::set<std::string> pools_unpooled;  // names of max pools a [maxunpool] refers to
  std::map<std::string, PoolIndices> indices;
};

struct LayerContext {
  GraphBuilder& g;
  Layer& layer;
  const Shape& in;
  const Shape& out;
  std::string lengths;  // the graph's sequence-length input, or "" (every step real)
  ExportState& state;
};

std::string export_dense(const LayerContext& c, const std::string& x) {
  auto& dense = dynamic_cast<Dense&>(c.layer);
  const Tensor& w = dense.weight().value;  // (outputs, inputs)
  if (dense.per_step()) {
    // (N, T, D) x W^T: MatMul against the transposed weight, then the bias.
    const int64_t o = w.shape()[0], d = w.shape()[1];
    std::vector<float> wt(static_cast<size_t>(o * d));
    for (int64_t i = 0; i < o; ++i) {
      for (int64_t j = 0; j < d; ++j) wt[j * o + i] = w[i * d + j];
    }
    std::string y = c.g.node("MatMul", {x, c.g.floats(dense.weight().name + "_t", {d, o}, wt.data())});
    if (dense.has_bias()) y = c.g.node("Add", {y, param(c.g, dense.bias())});
    return y;
  }
  const std::string flat = c.in.size() > 1 ? c.g.node("Flatten", {x}, [](auto& n) { set_int(n, "axis", 1); }) : x;
  std::vector<std::string> inputs = {flat, param(c.g, dense.weight())};
  if (dense.has_bias()) inputs.push_back(param(c.g, dense.bias()));
  return c.g.node("Gemm", inputs, [](auto& n) { set_int(n, "transB", 1); });
}

std::string export_conv(const LayerContext& c, const std::string& x) {
  auto& conv = dynamic_cast<Conv2D&>(c.layer);
  const Conv2DConfig& k = conv.config();
  std::vector<std::string> inputs = {x, param(c.g, conv.weight())};
  if (k.bias) inputs.push_back(param(c.g, conv.bias()));
  return c.g.node("Conv", inputs,
                  [&](auto& n) { set_window(n, k.kernel_h, k.kernel_w, k.stride_h, k.stride_w, k.pad_h, k.pad_w); });
}

std::string export_deconv(const LayerContext& c, const std::string& x) {
  auto& deconv = dynamic_cast<Deconv2D&>(c.layer);
  const Deconv2DConfig& k = deconv.config();
  std::vector<std::string> inputs = {x, param(c.g, deconv.weight())};  // (C_in, F, k, k), ONNX's layout
  if (k.bias) inputs.push_back(param(c.g, deconv.bias()));
  return c.g.node("ConvTranspose", inputs, [&](auto& n) {
    set_window(n, k.size, k.size, k.stride, k.stride, k.pad, k.pad);
    if (k.output_pad > 0) set_ints(n, "output_padding", {k.output_pad, k.output_pad});
  });
}

std::string export_pool(const LayerContext& c, const std::string& x, const std::string& op) {
  auto& pool = dynamic_cast<Pool2D&>(c.layer);
  const int64_t p = pool.pad();
  std::string in = x;
  // shardnet's average counts the padding as zeros: an explicit zero Pad, then windows without
  // padding (runtimes differ on AveragePool's count_include_pad; OpenCV 4.6 ignores it).
  if (op == "AveragePool" && p > 0) {
    in = c.g.node("Pad", {x, c.g.int64s("pads", {0, 0, p, p, 0, 0, p, p})});
  }
  const int64_t window_pad = op == "MaxPool" ? p : 0;  // the average's padding is the Pad node's
  const auto attributes = [&](onnx::NodeProto& n) {
    set_window(n, pool.size(), pool.size(), pool.stride(), pool.stride(), window_pad, window_pad);
  };
  if (op == "MaxPool" && c.state.pools_unpooled.count(pool.name())) {
    const auto outs = c.g.node_outputs(op, {in}, 2, attributes);
    const auto restored = [&](int64_t out_size) { return (out_size - 1) * pool.stride() - 2 * p + pool.size(); };
    c.state.indices[pool.name()] = {outs[1],       x, pool.size(),
                                    pool.stride(), p, restored(c.out[1]) != c.in[1] || restored(c.out[2]) != c.in[2]};
    return outs[0];
  }
  return c.g.node(op, {in}, attributes);
}

// MaxUnpool of the named pool's indices; given the pool input's shape when the pool's floor lost
// rows or columns (ONNX's default size would be smaller).
std::string export_maxunpool(const LayerContext& c, const std::string& x) {
  auto& unpool = dynamic_cast<MaxUnpool&>(c.layer);
  const PoolIndices& from = c.state.indices.at(unpool.pool());
  if (from.stride < from.size) {
    throw OnnxExportError("layer " + unpool.name() + " ([maxunpool]): its pool " + unpool.pool() +
                          " has overlapping windows (size " + std::to_string(from.size) + ", stride " +
                          std::to_string(from.stride) +
                          "), where shardnet adds the values that meet and ONNX's "
                          "MaxUnpool keeps one of them");
  }
  std::vector<std::string> inputs = {x, from.indices};
  if (from.input_size_lost) inputs.push_back(c.g.node("Shape", {from.input}));
  return c.g.node("MaxUnpool", inputs,
                  [&](auto& n) { set_window(n, from.size, from.size, from.stride, from.stride, from.pad, from.pad); });
}

std::string export_batchnorm(const LayerContext& c, const std::string& x) {
  auto& bn = dynamic_cast<BatchNorm&>(c.layer);
  const std::vector<Buffer*> stats = bn.buffers();  // running mean, running variance
  return c.g.node("BatchNormalization",
                  {x, param(c.g, bn.gamma()), param(c.g, bn.beta()), param(c.g, *stats[0]), param(c.g, *stats[1])},
                  [&](auto& n) { set_float(n, "epsilon", bn.epsilon()); });
}

std::string export_prelu(const LayerContext& c, const std::string& x) {
  auto& prelu = dynamic_cast<PReLU&>(c.layer);
  Param& slope = *prelu.params().front();
  // Broadcast over the sample's trailing dimensions: (C, 1, 1) for (C, H, W) inputs.
  std::vector<int64_t> dims = {slope.value.numel()};
  if (prelu.per_channel()) dims.resize(c.in.size(), 1);
  return c.g.node("PRelu", {x, c.g.floats(slope.name, dims, slope.value.data())});
}

// x Phi(x) = 0.5 x (1 + erf(x / sqrt 2)): opset 13 has no Gelu operator.
std::string export_gelu(const LayerContext& c, const std::string& x) {
  const std::string e = c.g.node("Erf", {c.g.node("Div", {x, c.g.scalar("sqrt2", std::sqrt(2.0f))})});
  const std::string one_plus = c.g.node("Add", {e, c.g.scalar("one", 1.0f)});
  return c.g.node("Mul", {c.g.node("Mul", {x, one_plus}), c.g.scalar("half", 0.5f)});
}

std::string export_softmax(const LayerContext& c, const std::string& x) {
  const auto softmax = [&](const std::string& in) {
    return c.g.node("Softmax", {in}, [](auto& n) { set_int(n, "axis", 1); });
  };
  if (c.in.size() == 1) return softmax(x);
  return reshape_to(c.g, softmax(c.g.node("Flatten", {x}, [](auto& n) { set_int(n, "axis", 1); })), c.out);
}

std::string export_embedding(const LayerContext& c, const std::string& x) {
  Param& table = *c.layer.params().front();  // (vocab, dim)
  const std::string ids = c.g.node("Cast", {x}, [](auto& n) { set_int(n, "to", onnx::TensorProto_DataType_INT64); });
  return c.g.node("Gather", {param(c.g, table), ids}, [](auto& n) { set_int(n, "axis", 0); });
}

std::string export_upsample(const LayerContext& c, const std::string& x) {
  auto& up = dynamic_cast<Upsample&>(c.layer);
  const float f = static_cast<float>(up.factor());
  const std::array<float, 4> scales = {1.0f, 1.0f, f, f};
  return c.g.node("Resize", {x, "", c.g.floats("scales", {4}, scales.data())}, [&](auto& n) {
    if (up.mode() == UpsampleMode::kNearest) {
      set_string(n, "mode", "nearest");
      set_string(n, "coordinate_transformation_mode", "asymmetric");  // source = floor(dst / f)
      set_string(n, "nearest_mode", "floor");
    } else {
      set_string(n, "mode", "linear");
      set_string(n, "coordinate_transformation_mode", "half_pixel");  // align_corners = False
    }
  });
}

// PyTorch's gate blocks in ONNX's order: LSTM i,f,g,o -> i,o,f,c; GRU r,z,n -> z,r,h.
std::vector<int64_t> onnx_gate_order(CellKind kind) {
  if (kind == CellKind::kLstm) return {0, 3, 1, 2};
  if (kind == CellKind::kGru) return {1, 0, 2};
  return {0};
}

// Rows of `p` (gates * H, ...) reordered by gate block, appended to `out`.
void append_gates(const Tensor& p, const std::vector<int64_t>& order, std::vector<float>& out) {
  const auto gates = static_cast<int64_t>(order.size());
  const int64_t block = p.numel() / gates;
  for (int64_t g : order) out.insert(out.end(), p.data() + g * block, p.data() + (g + 1) * block);
}

std::string export_recurrent(const LayerContext& c, const std::string& x) {
  auto& rnn = dynamic_cast<Recurrent&>(c.layer);
  const RecurrentConfig& k = rnn.config();
  const std::vector<Param*> params = rnn.params();
  const int64_t dirs = k.bidirectional ? 2 : 1, steps = c.in[0], h = k.hidden;
  const auto order = onnx_gate_order(k.kind);
  const auto g = static_cast<int64_t>(order.size());
  const char* op = k.kind == CellKind::kLstm ? "LSTM" : k.kind == CellKind::kGru ? "GRU" : "RNN";
  std::string seq = c.g.node("Transpose", {x}, [](auto& n) { set_ints(n, "perm", {1, 0, 2}); });  // (T, N, D)
  std::string last;
  for (int64_t layer = 0; layer < k.layers; ++layer) {
    std::vector<float> w, r, b;
    for (int64_t d = 0; d < dirs; ++d) {
      const Param* const* p = params.data() + (layer * dirs + d) * 4;  // weight_ih, weight_hh, bias_ih, bias_hh
      append_gates(p[0]->value, order, w);
      append_gates(p[1]->value, order, r);
      append_gates(p[2]->value, order, b);
      append_gates(p[3]->value, order, b);
    }
    const int64_t inputs = params[layer * dirs * 4]->value.shape()[1];
    const std::string base = rnn.name() + "_l" + std::to_string(layer);
    std::vector<std::string> op_inputs = {seq, c.g.floats(base + "_W", {dirs, g * h, inputs}, w.data()),
                                          c.g.floats(base + "_R", {dirs, g * h, h}, r.data()),
                                          c.g.floats(base + "_B", {dirs, 2 * g * h}, b.data())};
    if (!c.lengths.empty()) op_inputs.push_back(c.lengths);  // sequence_lens
    const auto outs = c.g.node_outputs(op, op_inputs, 2, [&](auto& n) {
      set_int(n, "hidden_size", h);
      set_string(n, "direction", k.bidirectional ? "bidirectional" : "forward");
      if (k.kind == CellKind::kGru) set_int(n, "linear_before_reset", 1);
    });
    last = outs[1];  // Y_h (dirs, N, H)
    if (layer + 1 == k.layers && !k.return_sequence) break;
    // Y (T, dirs, N, H) -> (T, N, dirs * H), the next layer's input (no node when unused: a
    // runtime may not support every output's shape, as OpenCV does not Y's of an LSTM).
    const std::string y = c.g.node("Transpose", {outs[0]}, [](auto& n) { set_ints(n, "perm", {0, 2, 1, 3}); });
    seq = c.g.node("Reshape", {y, c.g.int64s("shape", {steps, -1, dirs * h})});
  }
  if (k.return_sequence) return c.g.node("Transpose", {seq}, [](auto& n) { set_ints(n, "perm", {1, 0, 2}); });
  if (dirs == 1) return reshape_to(c.g, last, c.out);  // (1, N, H): no transpose needed
  const std::string per_sample = c.g.node("Transpose", {last}, [](auto& n) { set_ints(n, "perm", {1, 0, 2}); });
  return reshape_to(c.g, per_sample, c.out);
}

using Exporter = std::function<std::string(const LayerContext&, const std::string&)>;

// An operator of one input and no attributes.
Exporter unary(const std::string& op) {
  return [op](const LayerContext& c, const std::string& x) { return c.g.node(op, {x}); };
}

const std::map<std::string, Exporter>& exporters() {
  static const std::map<std::string, Exporter> table = {
      {"dense", export_dense},
      {"conv", export_conv},
      {"deconv", export_deconv},
      {"maxpool", [](const LayerContext& c, const std::string& x) { return export_pool(c, x, "MaxPool"); }},
      {"avgpool", [](const LayerContext& c, const std::string& x) { return export_pool(c, x, "AveragePool"); }},
      {"batchnorm", export_batchnorm},
      {"relu", unary("Relu")},
      {"sigmoid", unary("Sigmoid")},
      {"tanh", unary("Tanh")},
      {"leaky_relu",
       [](const LayerContext& c, const std::string& x) {
         const float slope = dynamic_cast<LeakyReLU&>(c.layer).slope();
         return c.g.node("LeakyRelu", {x}, [&](auto& n) { set_float(n, "alpha", slope); });
       }},
      {"elu",
       [](const LayerContext& c, const std::string& x) {
         const float alpha = dynamic_cast<ELU&>(c.layer).alpha();
         return c.g.node("Elu", {x}, [&](auto& n) { set_float(n, "alpha", alpha); });
       }},
      {"prelu", export_prelu},
      {"gelu", export_gelu},
      {"scale",
       [](const LayerContext& c, const std::string& x) {
         return c.g.node("Mul", {x, c.g.scalar("factor", dynamic_cast<Scale&>(c.layer).factor())});
       }},
      {"softmax", export_softmax},
      {"flatten",
       [](const LayerContext& c, const std::string& x) {
         return c.g.node("Flatten", {x}, [](auto& n) { set_int(n, "axis", 1); });
       }},
      {"reshape", [](const LayerContext& c, const std::string& x) { return reshape_to(c.g, x, c.out); }},
      {"dropout", [](const LayerContext&, const std::string& x) { return x; }},
      {"augment", [](const LayerContext&, const std::string& x) { return x; }},
      {"embedding", export_embedding},
      {"upsample", export_upsample},
      {"maxunpool", export_maxunpool},
      {"rnn", export_recurrent},
      {"lstm", export_recurrent},
      {"gru", export_recurrent},
  };
  return table;
}

void add_value_info(onnx::ValueInfoProto* info, const std::string& name, const Shape& sample,
                    int32_t type = onnx::TensorProto_DataType_FLOAT) {
  info->set_name(name);
  onnx::TypeProto_Tensor* t = info->mutable_type()->mutable_tensor_type();
  t->set_elem_type(type);
  onnx::TensorShapeProto* shape = t->mutable_shape();
  shape->add_dim()->set_dim_param("batch");
  for (int64_t d : sample) shape->add_dim()->set_dim_value(d);
}

}  // namespace

const std::vector<OnnxLayerMapping>& onnx_layer_mappings() {
  static const std::vector<OnnxLayerMapping> mappings = {
      {"dense", "Gemm (Flatten first for a multi-dimensional input); per step: MatMul, Add"},
      {"conv", "Conv"},
      {"deconv", "ConvTranspose"},
      {"maxpool", "MaxPool"},
      {"avgpool", "AveragePool (after a zero Pad when padded: the padding counts as zeros)"},
      {"batchnorm", "BatchNormalization (running statistics)"},
      {"relu", "Relu"},
      {"sigmoid", "Sigmoid"},
      {"tanh", "Tanh"},
      {"leaky_relu", "LeakyRelu"},
      {"elu", "Elu"},
      {"prelu", "PRelu"},
      {"gelu", "Div, Erf, Add, Mul, Mul (opset 13 has no Gelu)"},
      {"scale", "Mul"},
      {"softmax", "Softmax (Flatten, Softmax, Reshape for a multi-dimensional input)"},
      {"flatten", "Flatten"},
      {"reshape", "Reshape"},
      {"dropout", "nothing (the identity in evaluation)"},
      {"augment", "nothing (the identity in evaluation)"},
      {"embedding", "Cast (to int64), Gather"},
      {"upsample", "Resize (nearest: asymmetric, floor; bilinear: linear, half_pixel)"},
      {"maxunpool",
       "MaxUnpool of its pool's MaxPool indices (Shape of the pool's input when its floor lost rows; "
       "not for overlapping pool windows)"},
      {"rnn", "Transpose, RNN, Transpose, Reshape (per layer)"},
      {"lstm", "Transpose, LSTM (gates reordered to i, o, f, c), Transpose, Reshape"},
      {"gru", "Transpose, GRU (gates z, r, h; linear_before_reset = 1), Transpose, Reshape"},
  };
  return mappings;
}

std::vector<std::string> export_onnx(Net& net, const std::string& path, const std::string& graph_name,
                                     const OnnxExportOptions& options) {
  onnx::ModelProto model;
  model.set_ir_version(7);
  model.set_producer_name("shardnet");
  model.add_opset_import()->set_version(kOnnxOpset);
  onnx::GraphProto* graph = model.mutable_graph();
  graph->set_name(graph_name);
  GraphBuilder g(graph);
  add_value_info(graph->add_input(), "input", net.input_shape());
  std::string lengths;
  if (options.sequence_lengths) {
    lengths = "lengths";
    add_value_info(graph->add_input(), lengths, {}, onnx::TensorProto_DataType_INT32);
  }
  std::string x = "input";
  ExportState state;
  for (size_t i = 0; i < net.size(); ++i) {
    if (const auto* unpool = dynamic_cast<const MaxUnpool*>(&net.layer(i))) state.pools_unpooled.insert(unpool->pool());
  }
  for (size_t i = 0; i < net.size(); ++i) {
    Layer& layer = net.layer(i);
    const auto it = exporters().find(layer.type());
    if (it == exporters().end()) {
      throw OnnxExportError("layer " + layer.name() + " ([" + layer.type() +
                            "]) has no ONNX form here; exportable: dense, conv, deconv, maxpool, avgpool, batchnorm, "
                            "activations, softmax, flatten, reshape, dropout, augment, embedding, upsample, "
                            "maxunpool, rnn, lstm, gru");
    }
    const Shape& in = i == 0 ? net.input_shape() : net.shape_after(i - 1);
    x = it->second(LayerContext{g, layer, in, net.shape_after(i), lengths, state}, x);
  }
  // The last node's output takes the graph output's name (an Identity only for a net of no nodes).
  bool renamed = false;
  for (onnx::NodeProto& node : *graph->mutable_node()) {
    for (std::string& output : *node.mutable_output()) {
      if (output == x) {
        output = "output";
        renamed = true;
      }
    }
    for (std::string& input : *node.mutable_input()) {
      if (input == x) input = "output";
    }
  }
  if (!renamed) g.node_outputs("Identity", {x}, 0, [](auto& n) { n.add_output("output"); });
  add_value_info(graph->add_output(), "output", net.output_shape());

  const std::string tmp = path + ".tmp";
  {
    std::ofstream file(tmp, std::ios::binary | std::ios::trunc);
    if (!file || !model.SerializeToOstream(&file) || !file.flush()) {
      throw OnnxExportError(path + ": cannot write the ONNX model");
    }
  }
  publish_durably(tmp, path);
  return g.operators();
}

}  // namespace shardnet::io
