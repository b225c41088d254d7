// Runs one Recurrent layer on tensors given in a text file and writes its outputs and gradients, for
// tests/core/recurrent_torch_compare.py to compare with PyTorch's nn.RNN / nn.LSTM / nn.GRU.
//   recurrent_reference rnn|lstm|gru HIDDEN LAYERS BIDIRECTIONAL(0|1) sequence|last IN OUT
// IN holds lines "name dim... : values..." for x (N, T, D), dy (the gradient of the output), an
// optional lengths (N), and every parameter by PyTorch's name (weight_ih_l0, ...). OUT gets y, dx
// and "<parameter>.grad" lines in the same format.
#include <algorithm>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "core/recurrent.h"

using namespace shardnet;

namespace {
std::map<std::string, Tensor> read_tensors(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open");
  std::map<std::string, Tensor> tensors;
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string name, word;
    words >> name;
    Shape shape;
    while (words >> word && word != ":") shape.push_back(std::stoll(word));
    Tensor t(shape);
    for (float& v : t.span()) words >> v;
    if (!words) throw std::runtime_error(path + ": tensor " + name + " is short");
    tensors[name] = std::move(t);
  }
  return tensors;
}

void write_tensor(std::ostream& out, const std::string& name, const Tensor& t) {
  out << name;
  for (int64_t d : t.shape()) out << ' ' << d;
  out << " :";
  out.precision(9);
  for (float v : t.span()) out << ' ' << v;
  out << '\n';
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 8) {
    std::cerr << "usage: recurrent_reference KIND HIDDEN LAYERS BIDIRECTIONAL RETURN IN OUT\n";
    return 2;
  }
  const std::string kind = argv[1];
  RecurrentConfig config;
  config.kind = kind == "rnn" ? CellKind::kRnn : kind == "lstm" ? CellKind::kLstm : CellKind::kGru;
  config.hidden = std::stoll(argv[2]);
  config.layers = std::stoll(argv[3]);
  config.bidirectional = std::string(argv[4]) == "1";
  config.return_sequence = std::string(argv[5]) == "sequence";
  auto tensors = read_tensors(argv[6]);
  const Tensor& x = tensors.at("x");
  Recurrent layer("rec", config);
  layer.setup({x.dim(1), x.dim(2)});
  for (Param* p : layer.params()) {
    const Tensor& value = tensors.at(p->name.substr(4));  // drop "rec/"
    if (value.numel() != p->value.numel()) throw std::runtime_error(p->name + ": wrong size");
    std::copy_n(value.data(), value.numel(), p->value.data());
  }
  std::vector<int32_t> lengths;
  if (tensors.count("lengths")) {
    for (float v : tensors.at("lengths").span()) lengths.push_back(static_cast<int32_t>(v));
  }
  std::vector<int64_t> rows(static_cast<size_t>(x.rows()));
  StepContext context{0, 0, rows, nullptr, lengths};
  layer.bind(&context);
  Tensor y, dx;
  layer.forward(x, y, Mode::kEval);
  layer.backward(x, y, tensors.at("dy"), &dx);
  std::ofstream out(argv[7]);
  write_tensor(out, "y", y);
  write_tensor(out, "dx", dx);
  for (Param* p : layer.params()) write_tensor(out, p->name.substr(4) + ".grad", p->grad);
  return out ? 0 : 1;
}
