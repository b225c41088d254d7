#pragma once
// Recurrent layers over batch-major sequences (N, T, D): a vanilla RNN (tanh), LSTM and GRU, with
// stacked layers, both directions and dropout between layers. Weights follow PyTorch's nn.RNN /
// nn.LSTM / nn.GRU exactly (names weight_ih_l0, weight_hh_l0_reverse, ...; gate order LSTM i,f,g,o,
// GRU r,z,n with the reset gate applied to W_hn h + b_hn), so they compare and exchange with it.
//
// Padded samples (StepContext::lengths) behave like PyTorch's packed sequences: a direction runs
// only over a sample's own steps (the reverse direction starts at its last real step), outputs past
// the length are zero, the last state is the state at the sample's own length, and no gradient
// flows into padding.
//
// The fast path: one GEMM for the input projections of all T steps, one GEMM per step for the
// recurrence; backward one GEMM per step for dh and one GEMM each for the weight and input
// gradients over all steps. Buffers are sized on the first batch and reused.
#include <vector>

#include "core/layer.h"

namespace shardnet {

enum class CellKind { kRnn, kLstm, kGru };

struct RecurrentConfig {
  CellKind kind = CellKind::kLstm;
  int64_t hidden = 0;
  int64_t layers = 1;
  bool bidirectional = false;
  bool return_sequence = true;  // false: the last state, (H * directions) per sample
  float dropout = 0.0f;         // on the outputs of every layer but the last, in training
};

class Recurrent : public Layer {
 public:
  Recurrent(std::string name, RecurrentConfig config);
  std::string type() const override;
  Shape setup(const Shape& input) override;
  void initialize(uint64_t seed) override;
  void forward(const Tensor& x, Tensor& y, Mode mode) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
  std::vector<Param*> params() override;
  std::string describe() const override;
  // params() holds, per layer and direction in that order: weight_ih, weight_hh, bias_ih, bias_hh.
  const RecurrentConfig& config() const { return config_; }

 private:
  // One layer in one direction, with what forward keeps for backward.
  struct Direction {
    Param w_ih, w_hh, b_ih, b_hh;
    bool reverse = false;
    int64_t inputs = 0;
    Tensor proj;      // (N*T, G*H) input projections plus b_ih, row n*T + t
    Tensor states;    // (T+1, N, H) state after step s at s+1 (steps in this direction's order)
    Tensor cells;     // (T+1, N, H) LSTM cell states
    Tensor gates;     // (T, N, G*H) activated gates: LSTM i,f,g,o; GRU r,z,n
    Tensor hidden_n;  // (T, N, H) GRU: W_hn h + b_hn
    Tensor d_proj;    // (N*T, G*H) d loss / d projection
    Tensor d_rec;     // (T, N, G*H) d loss / d (W_hh h + b_hh)
  };

  int64_t gates() const;
  int64_t directions() const { return config_.bidirectional ? 2 : 1; }
  Direction& direction(int64_t layer, int64_t dir) { return layer_directions_[layer * directions() + dir]; }
  // Runs one direction of one layer over `in` (N, T, inputs), writing its outputs into columns
  // [offset, offset + H) of `out` (N, T, H * directions).
  void forward_direction(Direction& d, const Tensor& in, Tensor& out, int64_t offset);
  // Back through time: `d_out` (N, T, H * directions) is d loss / d outputs; `d_last` (N, H) or null
  // is d loss / d last state. Writes the parameter gradients and adds d loss / d in into `d_in`
  // when it is not null.
  void backward_direction(Direction& d, const Tensor& in, const Tensor& d_out, int64_t offset, const float* d_last,
                          Tensor* d_in);
  void step_forward(Direction& d, int64_t s, int64_t row, const float* p, const float* q, float* h, float* c);
  void drop(int64_t layer, const Tensor& in, Tensor& out);

  RecurrentConfig config_;
  int64_t steps_ = 0, inputs_ = 0;
  std::vector<Direction> layer_directions_;  // layer-major, forward direction first
  std::vector<Tensor> outputs_;              // (N, T, H * directions) of each layer
  std::vector<Tensor> dropped_;              // outputs after dropout (the next layer's input)
  std::vector<std::vector<float>> masks_;    // dropout masks, empty when off
  std::vector<int64_t> lengths_;             // of the current batch
  Tensor scratch_, d_state_, d_cell_, d_top_, d_lower_, d_last_;
};

// Token ids (N, T) -> vectors (N, T, dim). Ids arrive as floats (exact below 2^24); an id outside
// [0, vocab) is an error naming the layer. Steps past a sample's length give zero vectors and no
// gradient; the gradient of the table is non-zero only in the rows used.
class Embedding : public Layer {
 public:
  Embedding(std::string name, int64_t vocab, int64_t dim);
  std::string type() const override { return "embedding"; }
  Shape setup(const Shape& input) override;
  void initialize(uint64_t seed) override;
  void forward(const Tensor& x, Tensor& y, Mode mode) override;
  void backward(const Tensor& x, const Tensor& y, const Tensor& dy, Tensor* dx) override;
  std::vector<Param*> params() override { return {&table_}; }
  std::string describe() const override;
  int64_t vocab() const { return vocab_; }
  void check_input_data(const DataDescription& data) const override;
  int64_t input_vocab() const override { return vocab_; }

 private:
  int64_t vocab_, dim_, steps_ = 0;
  Param table_;
};

}  // namespace shardnet
