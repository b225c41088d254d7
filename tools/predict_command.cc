// shardnet predict: a checkpoint applied to raw files (images, text lines, CSV series) or HDF5 rows,
// prepared the way its training data were (the preprocessing stored in the checkpoint).
#include <algorithm>
#include <cstdio>
#include <istream>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/model_file.h"
#include "core/prediction.h"
#include "core/text_escape.h"
#include "dist/communicator.h"
#include "io/checkpoint.h"
#include "io/dataset.h"
#include "io/prediction_inputs.h"
#include "tools/commands.h"
#include "tools/options.h"
#include "tools/run_setup.h"

namespace shardnet::tools {

enum class PredictFormat { kTable, kCsv, kJson };

std::istream& operator>>(std::istream& in, PredictFormat& format) {
  std::string name;
  in >> name;
  if (name == "table") {
    format = PredictFormat::kTable;
  } else if (name == "csv") {
    format = PredictFormat::kCsv;
  } else if (name == "json") {
    format = PredictFormat::kJson;
  } else {
    throw UsageError("--format must be table, csv or json, not '" + name + "'");
  }
  return in;
}

namespace {

std::string number(double v, const char* format = "%.9g") {
  char text[32];
  std::snprintf(text, sizeof text, format, v);
  return text;
}

// How one prediction is written, in each format; `classes` names the class indices.
class PredictionWriter {
 public:
  PredictionWriter(PredictFormat format, const Loss& loss, const io::InputPreprocessing& preprocessing, int64_t k,
                   bool with_labels, bool raw)
      : format_(format),
        loss_(loss),
        preprocessing_(preprocessing),
        k_(k),
        with_labels_(with_labels),
        raw_(raw),
        score_name_(loss.scores_are_probabilities() ? "probability" : "score") {}

  std::string header(int64_t outputs) const {
    std::string line;
    if (format_ == PredictFormat::kJson) return "[";
    const bool table = format_ == PredictFormat::kTable;
    const auto add = [&](const std::string& name, int width) { append_field(line, name, width); };
    if (!table) add("input", 0);
    if (with_labels_) add("true_class", class_width());
    if (raw_) {
      for (int64_t j = 0; j < outputs; ++j) add("output_" + std::to_string(j), 12);
    } else if (loss_.is_classifier()) {
      for (int64_t r = 1; r <= k_; ++r) {
        add("class_" + std::to_string(r), class_width());
        add((loss_.scores_are_probabilities() ? "p_" : "score_") + std::to_string(r), 10);
      }
    } else {
      std::vector<float> zeros(static_cast<size_t>(outputs));
      for (const std::string& name : io::regression_outputs(preprocessing_, zeros.data(), outputs).names) add(name, 12);
    }
    if (table) add("input", 0);
    return line;
  }

  std::string row(const std::string& input, int32_t label, const float* output, int64_t outputs) const {
    if (format_ == PredictFormat::kJson) return json_row(input, label, output, outputs);
    const bool table = format_ == PredictFormat::kTable;
    std::string line;
    const auto add = [&](const std::string& text, int width) { append_field(line, text, width); };
    if (!table) add(input, 0);
    if (with_labels_) add(label >= 0 ? class_name(label) : "", class_width());
    if (raw_) {
      for (int64_t j = 0; j < outputs; ++j) add(number(output[j], table ? "%.6g" : "%.9g"), 12);
    } else if (loss_.is_classifier()) {
      for (const ClassScore& c : top_classes(loss_, output, outputs, k_)) {
        add(class_name(c.index), class_width());
        add(number(c.score, table ? "%.4f" : "%.9g"), 10);
      }
    } else {
      for (double v : io::regression_outputs(preprocessing_, output, outputs).values) {
        add(number(v, table ? "%.6g" : "%.9g"), 12);
      }
    }
    if (table) add(input, 0);
    return line;
  }

  std::string footer() const { return format_ == PredictFormat::kJson ? "]" : ""; }
  // Between two rows (JSON's array needs commas).
  const char* separator() const { return format_ == PredictFormat::kJson ? ",\n" : "\n"; }

 private:
  std::string json_row(const std::string& input, int32_t label, const float* output, int64_t outputs) const {
    std::string out = "{\"input\": " + json_quoted(input);
    if (label >= 0) out += ", \"true_class\": " + json_quoted(class_name(label));
    if (raw_) {
      out += ", \"outputs\": [";
      for (int64_t j = 0; j < outputs; ++j) out += std::string(j ? ", " : "") + number(output[j]);
      return out + "]}";
    }
    if (loss_.is_classifier()) {
      out += ", \"top\": [";
      bool first = true;
      for (const ClassScore& c : top_classes(loss_, output, outputs, k_)) {
        out += std::string(first ? "" : ", ") + "{\"class\": " + json_quoted(class_name(c.index)) +
               ", \"index\": " + std::to_string(c.index) + ", \"" + score_name_ + "\": " + number(c.score) + "}";
        first = false;
      }
      return out + "]}";
    }
    const io::NamedValues values = io::regression_outputs(preprocessing_, output, outputs);
    out += ", \"outputs\": {";
    for (size_t j = 0; j < values.values.size(); ++j) {
      out += std::string(j ? ", " : "") + json_quoted(values.names[j]) + ": " + number(values.values[j]);
    }
    return out + "}}";
  }

  std::string class_name(int64_t index) const {
    const auto& classes = preprocessing_.classes;
    return index >= 0 && index < static_cast<int64_t>(classes.size()) ? classes[index] : std::to_string(index);
  }
  int class_width() const {
    size_t width = 10;  // "true_class"
    for (const auto& name : preprocessing_.classes) width = std::max(width, name.size());
    return static_cast<int>(std::min<size_t>(width, 24));
  }
  // One field of a table row (padded to `width`) or of a CSV line (quoted where needed).
  void append_field(std::string& line, const std::string& text, int width) const {
    const bool table = format_ == PredictFormat::kTable;
    if (!line.empty()) line += table ? "  " : ",";
    line += table ? pad(text, width) : csv_field(text);
  }
  static std::string pad(const std::string& text, int width) {
    return text.size() >= static_cast<size_t>(width) ? text : text + std::string(width - text.size(), ' ');
  }

  PredictFormat format_;
  const Loss& loss_;
  const io::InputPreprocessing& preprocessing_;
  int64_t k_;
  bool with_labels_, raw_;
  std::string score_name_;
};

std::string join_lines(const std::vector<std::string>& lines, const char* separator) {
  std::string out;
  for (const auto& line : lines) out += (out.empty() ? "" : separator) + line;
  return out;
}

// This rank's contiguous share of `count` items.
std::pair<size_t, size_t> share(size_t count, int rank, int ranks) {
  return {count * rank / ranks, count * (rank + 1) / ranks};
}

}  // namespace

int predict_command(const Args& args) {
  po::options_description options("predict options");
  std::string weights, model_path, data_path;
  std::vector<std::string> inputs, texts;
  int64_t k = 5, batch = 256;
  int threads = 0;
  PredictFormat format = PredictFormat::kTable;
  // clang-format off
  options.add_options()
      ("weights,w", po::value(&weights)->required(), "checkpoint (HDF5) to apply")
      ("input", po::value(&inputs), "image files or folders, text files (one example per line), CSV series, "
                                    "or HDF5 data sets")
      ("text", po::value(&texts), "an example given as text, for a text model (repeatable)")
      ("model,m", po::value(&model_path), "model file (default: the model text stored in the checkpoint)")
      ("data,d", po::value(&data_path), "a data set converted like the training data: its preprocessing is used "
                                        "when the checkpoint records none (written before it was stored)")
      ("top-k,k", po::value(&k)->default_value(5), "classes to list per input, best first")
      ("format", po::value(&format)->default_value(PredictFormat::kTable, "table"), "table, csv or json")
      ("raw", "print the net's outputs as they are (logits of a classifier; regression outputs not de-standardised)")
      ("batch,b", po::value(&batch)->default_value(256), "rows per forward pass")
      ("threads", po::value(&threads)->default_value(0),
       "BLAS threads, and threads decoding images (0: OPENBLAS_NUM_THREADS or all cores)")
      ("strict", "any input that cannot be read is an error (exit status 1, nothing predicted); "
                 "by default each gets one line on stderr and the rest are predicted");
  // clang-format on
  po::positional_options_description positional;
  positional.add("input", -1);
  po::variables_map vm;
  if (!parse_options(args, "usage: shardnet predict --weights FILE INPUT... [--text TEXT...] [--format table|csv|json]",
                     options, vm, &positional)) {
    return 0;
  }
  if (inputs.empty() && texts.empty()) throw UsageError("nothing to predict: give files, folders or --text");
  if (k <= 0) throw UsageError("--top-k must be positive");
  if (batch <= 0) throw UsageError("--batch must be positive");
  set_threads(threads);
  const auto decode_threads = threads > 0 ? threads : std::max(1u, std::thread::hardware_concurrency());
  const bool strict = vm.count("strict") > 0;

  dist::Communicator comm;
  return run_on_all_ranks(comm, [&] {
    const CheckpointModel model = checkpoint_model(weights, model_path);
    auto net = parse_model(model.text, model.name);
    const io::CheckpointMeta meta = io::load_checkpoint(weights, *net, nullptr);
    // A checkpoint without a recipe still predicts HDF5 rows shaped like the model's input.
    io::InputPreprocessing preprocessing;
    preprocessing.sample_shape = net->input_shape();
    if (meta.preprocessing) {
      preprocessing = *meta.preprocessing;
    } else if (!data_path.empty()) {
      preprocessing = io::read_data_preprocessing(io::Dataset(data_path, 0));
    }
    // The net may read the rows in another shape of as many values, as training did (Net::check_data).
    if (shape_numel(preprocessing.sample_shape) != shape_numel(net->input_shape())) {
      throw std::runtime_error(weights + ": its training data's rows are " + shape_string(preprocessing.sample_shape) +
                               ", but " + model.name + " takes " + shape_string(net->input_shape()));
    }
    const io::InputListing listing = io::list_input_items(preprocessing, inputs, texts);
    const auto [first, last] = share(listing.items.size(), comm.rank(), comm.size());
    const std::vector<io::InputItem> mine(listing.items.begin() + static_cast<std::ptrdiff_t>(first),
                                          listing.items.begin() + static_cast<std::ptrdiff_t>(last));
    const io::PreparedRows rows = io::prepare_items(preprocessing, mine, decode_threads);
    std::vector<std::string> errors = rows.errors;
    if (comm.rank() == 0) errors.insert(errors.begin(), listing.errors.begin(), listing.errors.end());

    const bool lengths_given = static_cast<int64_t>(rows.lengths.size()) == rows.rows();
    const Tensor outputs =
        predict_outputs(*net, rows.data, lengths_given ? rows.lengths : std::vector<int32_t>{}, batch);
    const int64_t width = shape_numel(net->output_shape());
    const auto labelled =
        static_cast<uint64_t>(std::count_if(rows.labels.begin(), rows.labels.end(), [](int32_t l) { return l >= 0; }));
    uint64_t correct = 0;
    Loss& loss = *net->loss();
    for (int64_t r = 0; r < rows.rows(); ++r) {
      if (rows.labels[r] >= 0 && loss.is_classifier() &&
          top_classes(loss, outputs.data() + r * width, width, 1).front().index == rows.labels[r]) {
        ++correct;
      }
    }
    const auto sum = [&](uint64_t v) {
      const auto all = comm.allgather(v);
      return std::accumulate(all.begin(), all.end(), uint64_t{0});
    };
    const uint64_t total_labelled = sum(labelled), total_correct = sum(correct);
    const uint64_t total_rows = sum(static_cast<uint64_t>(rows.rows()));
    const uint64_t total_errors = sum(errors.size());

    const PredictionWriter writer(format, loss, preprocessing, std::min<int64_t>(k, loss.is_classifier() ? width : k),
                                  total_labelled > 0, vm.count("raw") > 0);
    std::vector<std::string> lines;
    for (int64_t r = 0; r < rows.rows(); ++r)
      lines.push_back(writer.row(rows.names[r], rows.labels[r], outputs.data() + r * width, width));
    const auto all_lines = comm.gather(join_lines(lines, writer.separator()), 0);
    const auto all_errors = comm.gather(join_lines(errors, "\n"), 0);
    if (comm.rank() != 0) return total_errors > 0 && strict ? 1 : 0;

    for (const auto& e : all_errors) {
      if (!e.empty()) std::fprintf(stderr, "%s\n", e.c_str());
    }
    if (strict && total_errors > 0) {
      std::fprintf(stderr, "shardnet predict: %llu input(s) could not be read (--strict): nothing predicted\n",
                   static_cast<unsigned long long>(total_errors));
      return 1;
    }
    std::vector<std::string> blocks;
    for (const auto& block : all_lines) {
      if (!block.empty()) blocks.push_back(block);
    }
    std::printf("%s\n", writer.header(width).c_str());
    if (!blocks.empty()) std::printf("%s\n", join_lines(blocks, writer.separator()).c_str());
    if (!writer.footer().empty()) std::printf("%s\n", writer.footer().c_str());
    std::fflush(stdout);
    std::fprintf(stderr, "shardnet predict: %llu prediction(s)", static_cast<unsigned long long>(total_rows));
    if (total_errors > 0)
      std::fprintf(stderr, ", %llu input(s) skipped", static_cast<unsigned long long>(total_errors));
    if (total_labelled > 0 && loss.is_classifier()) {
      std::fprintf(stderr, "; accuracy on the %llu with a known class: %.2f%% (%llu/%llu)",
                   static_cast<unsigned long long>(total_labelled),
                   100.0 * static_cast<double>(total_correct) / static_cast<double>(total_labelled),
                   static_cast<unsigned long long>(total_correct), static_cast<unsigned long long>(total_labelled));
    }
    std::fprintf(stderr, "\n");
    return total_rows == 0 ? 1 : 0;
  });
}

}  // namespace shardnet::tools
