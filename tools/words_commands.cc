// shardnet neighbours and shardnet export: a trained net's word vectors, and the net itself as ONNX.
#include <cstdio>
#include <unordered_map>

#include "core/model_file.h"
#include "core/word_vectors.h"
#include "io/checkpoint.h"
#include "io/dataset.h"
#include "io/onnx_export.h"
#include "io/word2vec_text.h"
#include "tools/commands.h"
#include "tools/options.h"
#include "tools/run_setup.h"

namespace shardnet::tools {

namespace {
struct TrainedWords {
  std::unique_ptr<Net> net;
  std::vector<std::string> vocab;
};

// The checkpoint's net and the vocabulary of the data set it was trained on: the one the
// checkpoint recorded, or (for a checkpoint written before it was stored) `data_path`'s /vocab.
TrainedWords load_words(const std::string& weights, const std::string& data_path) {
  TrainedWords t;
  const CheckpointModel model = checkpoint_model(weights);
  t.net = parse_model(model.text, model.name);
  const io::CheckpointMeta meta = io::load_checkpoint(weights, *t.net, nullptr);
  std::string source = weights;
  if (!data_path.empty()) {
    t.vocab = io::Dataset(data_path).vocab();
    source = data_path;
  } else if (meta.preprocessing) {
    t.vocab = meta.preprocessing->vocab;
  }
  if (t.vocab.empty()) {
    throw std::runtime_error(source + ": no vocabulary to name the words" +
                             (data_path.empty() ? " (give --data, a data set it was trained on)" : ""));
  }
  const int64_t rows = word_vectors(*t.net).dim(0);
  if (static_cast<int64_t>(t.vocab.size()) > rows) {
    throw std::runtime_error(source + ": its vocabulary has " + std::to_string(t.vocab.size()) + " words, " + weights +
                             " vectors for " + std::to_string(rows));
  }
  return t;
}
}  // namespace

int neighbours_command(const Args& args) {
  po::options_description options("neighbours options");
  std::string weights, data_path;
  std::vector<std::string> words;
  int64_t k = 10;
  // clang-format off
  options.add_options()
      ("weights,w", po::value(&weights)->required(), "checkpoint whose first layer is a [skipgram] or an [embedding]")
      ("data,d", po::value(&data_path), "a data set it was trained on, for its /vocab (default: the vocabulary "
                                        "the checkpoint recorded)")
      ("word", po::value(&words)->required(), "the word to list the neighbours of (repeatable)")
      ("k", po::value(&k)->default_value(10), "how many neighbours");
  // clang-format on
  po::variables_map vm;
  if (!parse_options(args, "usage: shardnet neighbours --weights FILE --word WORD [--k N] [--data FILE]", options,
                     vm)) {
    return 0;
  }
  if (k < 1) throw UsageError("--k must be at least 1");
  const TrainedWords t = load_words(weights, data_path);
  std::unordered_map<std::string, int64_t> ids;
  for (size_t i = 0; i < t.vocab.size(); ++i) ids.emplace(t.vocab[i], static_cast<int64_t>(i));
  const Tensor& vectors = word_vectors(*t.net);
  for (const std::string& word : words) {
    auto it = ids.find(word);
    if (it == ids.end()) throw std::runtime_error("'" + word + "' is not in the vocabulary");
    std::printf("%s:", word.c_str());
    for (const auto& [id, similarity] : nearest_by_cosine(vectors, it->second, k)) {
      if (id < static_cast<int64_t>(t.vocab.size()))
        std::printf(" %s %.3f", t.vocab[static_cast<size_t>(id)].c_str(), similarity);
    }
    std::printf("\n");
  }
  return 0;
}

int export_command(const Args& args) {
  po::options_description options("export options");
  std::string weights, data_path, word2vec, onnx_path, model_path;
  // clang-format off
  options.add_options()
      ("weights,w", po::value(&weights)->required(), "checkpoint to export")
      ("onnx", po::value(&onnx_path), "write the net as an ONNX model (opset 13): input \"input\", output \"output\"")
      ("model,m", po::value(&model_path), "model file (default: the model text stored in the checkpoint)")
      ("sequence-lengths", po::value<bool>(),
       "ONNX: a second input \"lengths\" (int32, one per sequence) for the recurrent layers (default: on for "
       "a net trained on padded sequences, i.e. text)")
      ("word2vec", po::value(&word2vec), "write the first layer's word vectors in the word2vec text format")
      ("data,d", po::value(&data_path), "for --word2vec: a data set it was trained on, for its /vocab (default: the "
                                        "vocabulary the checkpoint recorded)");
  // clang-format on
  po::variables_map vm;
  if (!parse_options(args, "usage: shardnet export --weights FILE (--onnx OUT.onnx | --word2vec OUT.txt)", options,
                     vm)) {
    return 0;
  }
  if (word2vec.empty() && onnx_path.empty())
    throw UsageError("nothing to export: give --onnx OUT.onnx or --word2vec OUT.txt");
  if (!onnx_path.empty()) {
    const CheckpointModel model = checkpoint_model(weights, model_path);
    auto net = parse_model(model.text, model.name);
    const io::CheckpointMeta meta = io::load_checkpoint(weights, *net, nullptr);
    io::OnnxExportOptions export_options;
    export_options.sequence_lengths = meta.preprocessing && meta.preprocessing->kind == io::InputKind::kText;
    if (vm.count("sequence-lengths")) export_options.sequence_lengths = vm["sequence-lengths"].as<bool>();
    const auto ops = io::export_onnx(*net, onnx_path, model.name, export_options);
    std::printf("wrote %s: ONNX opset %lld, %zu nodes, input %s%s, output %s\n", onnx_path.c_str(),
                static_cast<long long>(io::kOnnxOpset), ops.size(), shape_string(net->input_shape()).c_str(),
                export_options.sequence_lengths ? " and lengths" : "", shape_string(net->output_shape()).c_str());
  }
  if (!word2vec.empty()) {
    const TrainedWords t = load_words(weights, data_path);
    io::write_word2vec_text(word2vec, t.vocab, word_vectors(*t.net));
    std::printf("wrote %s: %zu words of %lld values\n", word2vec.c_str(), t.vocab.size(),
                static_cast<long long>(word_vectors(*t.net).dim(1)));
  }
  return 0;
}

}  // namespace shardnet::tools
