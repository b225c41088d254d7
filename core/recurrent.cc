#include "core/recurrent.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <functional>
#include <stdexcept>

#include "core/fast_math.h"
#include "core/gemm.h"
#include "core/layer_registry.h"
#include "core/random.h"
#include "core/sequence.h"

namespace shardnet {
namespace {

// Adds `bias` to every row of a (rows, cols) matrix.
void add_to_rows(float* m, int64_t rows, int64_t cols, const float* bias) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < cols; ++j) m[r * cols + j] += bias[j];
}

// sums = the column sums of a (rows, cols) matrix.
void column_sums(const float* m, int64_t rows, int64_t cols, float* sums) {
  std::fill_n(sums, cols, 0.0f);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < cols; ++j) sums[j] += m[r * cols + j];
}

// The cells' element-wise stages, each a function of its own with unaliased arguments so that the
// compiler vectorises it (with fast_math.h's exp, nothing in them calls the library).
void add(const float* __restrict a, const float* __restrict b, float* __restrict out, int64_t n) {
  for (int64_t j = 0; j < n; ++j) out[j] = a[j] + b[j];
}
void sigmoid_in_place(float* __restrict x, int64_t n) {
  for (int64_t j = 0; j < n; ++j) x[j] = fast_sigmoid(x[j]);
}
void tanh_in_place(float* __restrict x, int64_t n) {
  for (int64_t j = 0; j < n; ++j) x[j] = fast_tanh(x[j]);
}
// c = f c_prev + i g, h = o tanh(c).
void lstm_state(const float* __restrict ig, const float* __restrict fg, const float* __restrict gg,
                const float* __restrict og, const float* __restrict c_prev, float* __restrict c, float* __restrict h,
                int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    c[j] = fg[j] * c_prev[j] + ig[j] * gg[j];
    h[j] = og[j] * fast_tanh(c[j]);
  }
}
// n = tanh(p_n + r (W_hn h_prev + b_hn)), h = (1 - z) n + z h_prev; keeps W_hn h_prev + b_hn for backward.
void gru_state(const float* __restrict r, const float* __restrict z, const float* __restrict pn,
               const float* __restrict qn, const float* __restrict h_prev, float* __restrict qn_kept,
               float* __restrict ng, float* __restrict h, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    qn_kept[j] = qn[j];
    ng[j] = fast_tanh(pn[j] + r[j] * qn[j]);
    h[j] = (1.0f - z[j]) * ng[j] + z[j] * h_prev[j];
  }
}

// Backward of the cells for one sample and step; dh comes in as d loss / d h and leaves as the part
// of d loss / d h_prev that does not pass through W_hh.
void rnn_backward(const float* __restrict h_out, float* __restrict dh, float* __restrict dp, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    dp[j] = dh[j] * (1.0f - h_out[j] * h_out[j]);
    dh[j] = 0.0f;
  }
}
void lstm_backward(const float* __restrict ig, const float* __restrict fg, const float* __restrict gg,
                   const float* __restrict og, const float* __restrict c, const float* __restrict c_prev,
                   float* __restrict dh, float* __restrict dc, float* __restrict dpi, float* __restrict dpf,
                   float* __restrict dpg, float* __restrict dpo, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    const float tc = fast_tanh(c[j]);
    const float dct = dc[j] + dh[j] * og[j] * (1.0f - tc * tc);
    dpi[j] = dct * gg[j] * ig[j] * (1.0f - ig[j]);
    dpf[j] = dct * c_prev[j] * fg[j] * (1.0f - fg[j]);
    dpg[j] = dct * ig[j] * (1.0f - gg[j] * gg[j]);
    dpo[j] = dh[j] * tc * og[j] * (1.0f - og[j]);
    dc[j] = dct * fg[j];
    dh[j] = 0.0f;
  }
}
void gru_backward(const float* __restrict r, const float* __restrict z, const float* __restrict ng,
                  const float* __restrict qn, const float* __restrict h_prev, float* __restrict dh,
                  float* __restrict dpr, float* __restrict dpz, float* __restrict dpn, float* __restrict drn,
                  int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    const float dn_pre = dh[j] * (1.0f - z[j]) * (1.0f - ng[j] * ng[j]);
    dpr[j] = dn_pre * qn[j] * r[j] * (1.0f - r[j]);
    dpz[j] = dh[j] * (h_prev[j] - ng[j]) * z[j] * (1.0f - z[j]);
    dpn[j] = dn_pre;
    drn[j] = dn_pre * r[j];
    dh[j] *= z[j];
  }
}

}  // namespace

Recurrent::Recurrent(std::string name, RecurrentConfig config) : Layer(std::move(name)), config_(config) {
  if (config.hidden <= 0) throw std::invalid_argument(type() + ": hidden must be positive");
  if (config.layers <= 0) throw std::invalid_argument(type() + ": layers must be positive");
  if (!(config.dropout >= 0.0f && config.dropout < 1.0f))
    throw std::invalid_argument(type() + ": dropout must be in [0, 1)");
}

std::string Recurrent::type() const {
  switch (config_.kind) {
    case CellKind::kRnn:
      return "rnn";
    case CellKind::kLstm:
      return "lstm";
    default:
      return "gru";
  }
}

int64_t Recurrent::gates() const {
  switch (config_.kind) {
    case CellKind::kRnn:
      return 1;
    case CellKind::kLstm:
      return 4;
    default:
      return 3;
  }
}

Shape Recurrent::setup(const Shape& input) {
  if (input.size() != 2) {
    throw ShapeError(type() + " needs a (steps, features) input per sample, got " + shape_string(input));
  }
  steps_ = input[0];
  inputs_ = input[1];
  const int64_t h = config_.hidden, gh = gates() * h, out = h * directions();
  layer_directions_.clear();
  for (int64_t l = 0; l < config_.layers; ++l) {
    for (int64_t d = 0; d < directions(); ++d) {
      const std::string suffix = "_l" + std::to_string(l) + (d == 1 ? "_reverse" : "");
      Direction dir;
      dir.reverse = d == 1;
      dir.inputs = l == 0 ? inputs_ : out;
      dir.w_ih = Param::weight(name() + "/weight_ih" + suffix, {gh, dir.inputs});
      dir.w_hh = Param::weight(name() + "/weight_hh" + suffix, {gh, h});
      dir.b_ih = Param::bias(name() + "/bias_ih" + suffix, {gh});
      dir.b_hh = Param::bias(name() + "/bias_hh" + suffix, {gh});
      layer_directions_.push_back(std::move(dir));
    }
  }
  outputs_.assign(static_cast<size_t>(config_.layers), Tensor());
  dropped_.assign(static_cast<size_t>(config_.layers), Tensor());
  masks_.assign(static_cast<size_t>(config_.layers), {});
  return config_.return_sequence ? Shape{steps_, out} : Shape{out};
}

// PyTorch's initialisation: every weight and bias uniform in [-1/sqrt(H), 1/sqrt(H)].
void Recurrent::initialize(uint64_t seed) {
  const float k = 1.0f / std::sqrt(static_cast<float>(config_.hidden));
  uint64_t stream = 0;
  for (Direction& d : layer_directions_) {
    for (Param* p : {&d.w_ih, &d.w_hh, &d.b_ih, &d.b_hh}) {
      CounterRng rng(seed, stream++);
      for (float& v : p->value.span()) v = rng.uniform(-k, k);
    }
  }
}

std::vector<Param*> Recurrent::params() {
  std::vector<Param*> all;
  for (Direction& d : layer_directions_) {
    for (Param* p : {&d.w_ih, &d.w_hh, &d.b_ih, &d.b_hh}) all.push_back(p);
  }
  return all;
}

std::string Recurrent::describe() const {
  return "hidden=" + std::to_string(config_.hidden) + " layers=" + std::to_string(config_.layers) +
         (config_.bidirectional ? " bidirectional" : "") +
         (config_.return_sequence ? " return=sequence" : " return=last") +
         (config_.dropout > 0.0f ? " dropout=" + std::to_string(config_.dropout) : "");
}

void Recurrent::forward(const Tensor& x, Tensor& y, Mode mode) {
  const int64_t n = x.rows(), t = steps_, out = config_.hidden * directions(), last = config_.layers - 1;
  assert(x.numel() == n * t * inputs_);
  const std::span<const int32_t> lengths = context_ ? context_->lengths : std::span<const int32_t>();
  lengths_.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) lengths_[i] = sequence_length(lengths, i, t, name());

  const Tensor* in = &x;
  for (int64_t l = 0; l <= last; ++l) {
    Tensor& layer_out = l == last && config_.return_sequence ? y : outputs_[l];
    layer_out.reshape({n, t, out});
    layer_out.zero();
    for (int64_t d = 0; d < directions(); ++d) forward_direction(direction(l, d), *in, layer_out, d * config_.hidden);
    if (l == last) break;
    if (mode == Mode::kTrain && config_.dropout > 0.0f) {
      drop(l, layer_out, dropped_[l]);
      in = &dropped_[l];
    } else {
      masks_[l].clear();
      in = &layer_out;
    }
  }
  if (config_.return_sequence) return;
  // The last state of each direction: after all T steps, which is the state at the sample's own
  // length because a direction's state does not change past it.
  y.reshape({n, out});
  for (int64_t d = 0; d < directions(); ++d) {
    const Direction& top = direction(last, d);
    const float* final_states = top.states.data() + t * n * config_.hidden;
    for (int64_t i = 0; i < n; ++i)
      std::copy_n(final_states + i * config_.hidden, config_.hidden, y.data() + i * out + d * config_.hidden);
  }
}

void Recurrent::forward_direction(Direction& d, const Tensor& in, Tensor& out, int64_t offset) {
  const int64_t n = in.rows(), t = steps_, h = config_.hidden, gh = gates() * h, width = h * directions();
  d.proj.reshape({n * t, gh});
  for_each_grain(n, [&](int64_t first, int64_t count) {
    gemm(false, true, count * t, gh, d.inputs, 1.0f, in.data() + first * t * d.inputs, d.w_ih.value.data(), 0.0f,
         d.proj.data() + first * t * gh);
  });
  add_to_rows(d.proj.data(), n * t, gh, d.b_ih.value.data());
  d.states.reshape({t + 1, n, h});
  std::fill_n(d.states.data(), n * h, 0.0f);
  if (config_.kind == CellKind::kLstm) {
    d.cells.reshape({t + 1, n, h});
    std::fill_n(d.cells.data(), n * h, 0.0f);
  }
  if (config_.kind != CellKind::kRnn) d.gates.reshape({t, n, gh});
  if (config_.kind == CellKind::kGru) d.hidden_n.reshape({t, n, h});
  scratch_.reshape({n, gh});

  for (int64_t s = 0; s < t; ++s) {
    const float* h_prev_all = d.states.data() + s * n * h;
    float* h_next_all = d.states.data() + (s + 1) * n * h;
    for_each_grain(n, [&](int64_t first, int64_t count) {
      gemm(false, true, count, gh, h, 1.0f, h_prev_all + first * h, d.w_hh.value.data(), 0.0f,
           scratch_.data() + first * gh);
    });
    add_to_rows(scratch_.data(), n, gh, d.b_hh.value.data());
    for (int64_t i = 0; i < n; ++i) {
      const float* h_prev = h_prev_all + i * h;
      float* h_next = h_next_all + i * h;
      const float* c_prev = config_.kind == CellKind::kLstm ? d.cells.data() + (s * n + i) * h : nullptr;
      float* c_next = config_.kind == CellKind::kLstm ? d.cells.data() + ((s + 1) * n + i) * h : nullptr;
      if (s >= lengths_[i]) {  // past this sample's end: the state stays as it is
        std::copy_n(h_prev, h, h_next);
        if (c_next) std::copy_n(c_prev, h, c_next);
        continue;
      }
      const int64_t time = d.reverse ? lengths_[i] - 1 - s : s;
      const float* p = d.proj.data() + (i * t + time) * gh;
      const float* q = scratch_.data() + i * gh;
      switch (config_.kind) {
        case CellKind::kRnn:
          add(p, q, h_next, h);
          tanh_in_place(h_next, h);
          break;
        case CellKind::kLstm: {
          float* g = d.gates.data() + (s * n + i) * gh;
          add(p, q, g, gh);
          sigmoid_in_place(g, 2 * h);      // i, f
          tanh_in_place(g + 2 * h, h);     // g
          sigmoid_in_place(g + 3 * h, h);  // o
          lstm_state(g, g + h, g + 2 * h, g + 3 * h, c_prev, c_next, h_next, h);
          break;
        }
        case CellKind::kGru: {
          float* g = d.gates.data() + (s * n + i) * gh;
          add(p, q, g, 2 * h);
          sigmoid_in_place(g, 2 * h);  // r, z
          gru_state(g, g + h, p + 2 * h, q + 2 * h, h_prev, d.hidden_n.data() + (s * n + i) * h, g + 2 * h, h_next, h);
          break;
        }
      }
      std::copy_n(h_next, h, out.data() + (i * t + time) * width + offset);
    }
  }
}

void Recurrent::drop(int64_t layer, const Tensor& in, Tensor& out) {
  const int64_t n = in.rows(), row = in.row_size();
  const float keep = 1.0f - config_.dropout, scale = 1.0f / keep;
  const uint64_t key = hash_key(context_->seed, std::hash<std::string>{}(name() + "/dropout" + std::to_string(layer)),
                                static_cast<uint64_t>(context_->epoch));
  std::vector<float>& mask = masks_[layer];
  mask.resize(static_cast<size_t>(in.numel()));
  out.reshape(in.shape());
  for (int64_t i = 0; i < n; ++i) {
    CounterRng rng(hash_key(key, static_cast<uint64_t>(context_->rows[i])));
    for (int64_t j = i * row; j < (i + 1) * row; ++j) {
      mask[j] = rng.uniform() < keep ? scale : 0.0f;
      out[j] = in[j] * mask[j];
    }
  }
}

void Recurrent::backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) {
  const int64_t n = x.rows(), t = steps_, h = config_.hidden, out = h * directions(), last = config_.layers - 1;
  const Tensor* d_out = &dy;
  if (!config_.return_sequence) {  // only the last states receive a gradient
    d_top_.reshape({n, t, out});
    d_top_.zero();
    d_out = &d_top_;
  }
  Tensor* d_buffers[2] = {&d_lower_, &d_last_};
  for (int64_t l = last; l >= 0; --l) {
    const Tensor& in = l == 0 ? x : (masks_[l - 1].empty() ? outputs_[l - 1] : dropped_[l - 1]);
    Tensor* d_in = l > 0 ? d_buffers[l % 2] : dx;
    if (d_in != nullptr) {
      d_in->reshape(l > 0 ? Shape{n, t, out} : x.shape());
      d_in->zero();
    }
    for (int64_t d = 0; d < directions(); ++d) {
      const float* d_last = l == last && !config_.return_sequence ? dy.data() + d * h : nullptr;
      backward_direction(direction(l, d), in, *d_out, d * h, d_last, d_in);
    }
    if (l == 0) break;
    if (!masks_[l - 1].empty()) {
      const std::vector<float>& mask = masks_[l - 1];
      for (int64_t j = 0; j < d_in->numel(); ++j) (*d_in)[j] *= mask[j];
    }
    d_out = d_in;
  }
}

void Recurrent::backward_direction(Direction& d, const Tensor& in, const Tensor& d_out, int64_t offset,
                                   const float* d_last, Tensor* d_in) {
  const int64_t n = in.rows(), t = steps_, h = config_.hidden, gh = gates() * h, width = h * directions();
  d.d_proj.reshape({n * t, gh});
  d.d_proj.zero();
  d.d_rec.reshape({t, n, gh});
  d_state_.reshape({n, h});
  for (int64_t i = 0; i < n; ++i) {
    float* dh = d_state_.data() + i * h;
    if (d_last)
      std::copy_n(d_last + i * width, h, dh);
    else
      std::fill_n(dh, h, 0.0f);
  }
  if (config_.kind == CellKind::kLstm) {
    d_cell_.reshape({n, h});
    d_cell_.zero();
  }
  scratch_.reshape({n, h});

  for (int64_t s = t - 1; s >= 0; --s) {
    float* d_rec = d.d_rec.data() + s * n * gh;
    for (int64_t i = 0; i < n; ++i) {
      float* dr = d_rec + i * gh;
      if (s >= lengths_[i]) {  // the state passed through unchanged: so does its gradient
        std::fill_n(dr, gh, 0.0f);
        continue;
      }
      const int64_t time = d.reverse ? lengths_[i] - 1 - s : s;
      float* dh = d_state_.data() + i * h;
      const float* dy = d_out.data() + (i * t + time) * width + offset;
      for (int64_t j = 0; j < h; ++j) dh[j] += dy[j];
      float* dp = d.d_proj.data() + (i * t + time) * gh;
      // Below, dh becomes the part of d loss / d h_prev that does not go through W_hh. The
      // pre-activation gradients go to dp (input projection) and dr (recurrent product): the same
      // but for the GRU's n gate, whose recurrent part is scaled by r.
      switch (config_.kind) {
        case CellKind::kRnn:
          rnn_backward(d.states.data() + ((s + 1) * n + i) * h, dh, dp, h);
          std::copy_n(dp, gh, dr);
          break;
        case CellKind::kLstm: {
          const float* g = d.gates.data() + (s * n + i) * gh;
          lstm_backward(g, g + h, g + 2 * h, g + 3 * h, d.cells.data() + ((s + 1) * n + i) * h,
                        d.cells.data() + (s * n + i) * h, dh, d_cell_.data() + i * h, dp, dp + h, dp + 2 * h,
                        dp + 3 * h, h);
          std::copy_n(dp, gh, dr);
          break;
        }
        case CellKind::kGru: {
          const float* g = d.gates.data() + (s * n + i) * gh;
          gru_backward(g, g + h, g + 2 * h, d.hidden_n.data() + (s * n + i) * h, d.states.data() + (s * n + i) * h, dh,
                       dp, dp + h, dp + 2 * h, dr + 2 * h, h);
          std::copy_n(dp, 2 * h, dr);
          break;
        }
      }
    }
    // d h_prev += d(W_hh h_prev) / d h_prev; rows past a sample's end have dr = 0 and keep dh.
    for_each_grain(n, [&](int64_t first, int64_t count) {
      gemm(false, false, count, h, gh, 1.0f, d_rec + first * gh, d.w_hh.value.data(), 0.0f,
           scratch_.data() + first * h);
    });
    for (int64_t j = 0; j < n * h; ++j) d_state_[j] += scratch_[j];
  }
  if (!exact()) {
    // States 0..T-1 are the h_prev of steps 0..T-1.
    gemm(true, false, gh, h, t * n, 1.0f, d.d_rec.data(), d.states.data(), 0.0f, d.w_hh.grad.data());
    column_sums(d.d_rec.data(), t * n, gh, d.b_hh.grad.data());
  }
  std::vector<float> step_sums(exact() ? static_cast<size_t>(gh) : 0);
  for_each_grain(n, [&](int64_t first, int64_t count) {
    if (exact()) {
      // The grain's rows of each step: its recurrent gradients, step by step in order.
      for (int64_t s = 0; s < t; ++s) {
        const float* d_rec = d.d_rec.data() + (s * n + first) * gh;
        gemm(true, false, gh, h, count, 1.0f, d_rec, d.states.data() + (s * n + first) * h, s == 0 ? 0.0f : 1.0f,
             d.w_hh.grad.data());
        column_sums(d_rec, count, gh, step_sums.data());
        if (s == 0) std::fill_n(d.b_hh.grad.data(), gh, 0.0f);
        for (int64_t j = 0; j < gh; ++j) d.b_hh.grad[j] += step_sums[static_cast<size_t>(j)];
      }
    }
    const float* d_proj = d.d_proj.data() + first * t * gh;
    gemm(true, false, gh, d.inputs, count * t, 1.0f, d_proj, in.data() + first * t * d.inputs, 0.0f,
         d.w_ih.grad.data());
    column_sums(d_proj, count * t, gh, d.b_ih.grad.data());
    deposit_grain({&d.w_ih, &d.w_hh, &d.b_ih, &d.b_hh});
    if (d_in != nullptr) {
      gemm(false, false, count * t, d.inputs, gh, 1.0f, d_proj, d.w_ih.value.data(), 1.0f,
           d_in->data() + first * t * d.inputs);
    }
  });
}

Embedding::Embedding(std::string name, int64_t vocab, int64_t dim) : Layer(std::move(name)), vocab_(vocab), dim_(dim) {
  if (vocab <= 0 || dim <= 0) throw std::invalid_argument("embedding: vocab and dim must be positive");
}

Shape Embedding::setup(const Shape& input) {
  if (input.size() != 1 && !(input.size() == 2 && input[1] == 1)) {
    throw ShapeError("embedding needs a (steps) input of token ids per sample, got " + shape_string(input));
  }
  steps_ = input[0];
  table_ = Param::weight(name() + "/weight", {vocab_, dim_});
  return {steps_, dim_};
}

// PyTorch's nn.Embedding: standard normal.
void Embedding::initialize(uint64_t seed) {
  CounterRng rng(seed, 0);
  for (float& v : table_.value.span()) v = rng.normal();
}

void Embedding::forward(const Tensor& x, Tensor& y, Mode) {
  const int64_t n = x.rows(), t = steps_;
  const std::span<const int32_t> lengths = context_ ? context_->lengths : std::span<const int32_t>();
  y.reshape({n, t, dim_});
  for (int64_t i = 0; i < n; ++i) {
    const int64_t length = sequence_length(lengths, i, t, name());
    for (int64_t s = 0; s < t; ++s) {
      float* out = y.data() + (i * t + s) * dim_;
      if (s >= length) {
        std::fill_n(out, dim_, 0.0f);
        continue;
      }
      const float id = x[i * t + s];
      if (!(id >= 0.0f && id < static_cast<float>(vocab_)) || id != std::floor(id)) {
        const std::string shown = id == std::floor(id) && std::abs(id) < 1e15f
                                      ? std::to_string(static_cast<int64_t>(id))
                                      : std::to_string(id);
        throw std::out_of_range(name() + ": token id " + shown + " of sample " + std::to_string(i) + ", step " +
                                std::to_string(s) + " is outside the vocabulary of " + std::to_string(vocab_) +
                                " tokens");
      }
      std::copy_n(table_.value.data() + static_cast<int64_t>(id) * dim_, dim_, out);
    }
  }
}

void Embedding::backward(const Tensor& x, const Tensor&, const Tensor& dy, Tensor* dx) {
  const int64_t n = x.rows(), t = steps_;
  const std::span<const int32_t> lengths = context_ ? context_->lengths : std::span<const int32_t>();
  if (!exact()) table_.grad.zero();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t length = sequence_length(lengths, i, t, name());
    for (int64_t s = 0; s < length; ++s) {
      const int64_t id = static_cast<int64_t>(x[i * t + s]);
      const float* g = dy.data() + (i * t + s) * dim_;
      // Exact mode: each token's gradient is a term of the table's exact sum (only its row).
      if (exact()) {
        table_.grain_sum.add(std::span<const float>(g, static_cast<size_t>(dim_)), static_cast<size_t>(id * dim_));
        continue;
      }
      float* row = table_.grad.data() + id * dim_;
      for (int64_t j = 0; j < dim_; ++j) row[j] += g[j];
    }
  }
  if (dx != nullptr) {  // token ids are not differentiable
    dx->reshape(x.shape());
    dx->zero();
  }
}

std::string Embedding::describe() const { return "vocab=" + std::to_string(vocab_) + " dim=" + std::to_string(dim_); }

void Embedding::check_input_data(const DataDescription& data) const {
  // Token ids index the table: a larger vocabulary would fail mid-training.
  if (data.vocab_size > vocab_) {
    throw std::invalid_argument("/vocab has " + std::to_string(data.vocab_size) + " tokens but [embedding] " + name() +
                                " has vocab = " + std::to_string(vocab_));
  }
}

}  // namespace shardnet

namespace {
shardnet::LayerType recurrent_type(std::string name, std::string doc, shardnet::CellKind kind) {
  using namespace shardnet;
  return LayerType{
      std::move(name),
      std::move(doc),
      {int_option("hidden", std::nullopt, 1, kNoLimit, "hidden units per direction"),
       int_option("layers", 1, 1, 64, "stacked layers"),
       bool_option("bidirectional", false, "also run the sequence in reverse and concatenate"),
       choice_option("return", {"sequence", "last"}, "sequence", "every step's output (T, H) or the last state (H)"),
       float_option("dropout", 0.0f, 0.0, 0.999, "dropout between stacked layers, in training")},
      [kind](const std::string& layer_name, const LayerOptions& o) {
        RecurrentConfig c;
        c.kind = kind;
        c.hidden = o.integer("hidden");
        c.layers = o.integer("layers");
        c.bidirectional = o.flag("bidirectional");
        c.return_sequence = o.choice("return") == "sequence";
        c.dropout = o.number("dropout");
        return std::make_unique<Recurrent>(layer_name, c);
      },
      {},
      ExampleInput{{3, 2}, {{"hidden", "3"}, {"layers", "2"}, {"bidirectional", "1"}}}};
}
}  // namespace

SHARDNET_REGISTER_LAYERS(recurrent) {
  using namespace shardnet;
  registry.add(
      recurrent_type("rnn", "Elman RNN (tanh) on (T, D) sequences, PyTorch's parameter layout", CellKind::kRnn));
  registry.add(recurrent_type("lstm", "LSTM on (T, D) sequences, PyTorch's gate layout (i, f, g, o)", CellKind::kLstm));
  registry.add(recurrent_type("gru", "GRU on (T, D) sequences, PyTorch's gate layout (r, z, n)", CellKind::kGru));
  registry.add(LayerType{"embedding",
                         "lookup table: token ids (T) to vectors (T, dim)",
                         {int_option("vocab", std::nullopt, 1, kNoLimit, "table rows (token ids below this)"),
                          int_option("dim", std::nullopt, 1, kNoLimit, "vector size")},
                         [](const std::string& name, const LayerOptions& o) {
                           return std::make_unique<Embedding>(name, o.integer("vocab"), o.integer("dim"));
                         },
                         {},
                         ExampleInput{{4}, {{"vocab", "7"}, {"dim", "3"}}, 7}});
}
