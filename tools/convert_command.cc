#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <tuple>

#include "io/csv_series.h"
#include "io/idx.h"
#include "io/image_folder.h"
#include "io/sine_series.h"
#include "io/skipgram_pairs.h"
#include "io/text_tokens.h"
#include "tools/commands.h"
#include "tools/options.h"

namespace shardnet::tools {
namespace fs = std::filesystem;
namespace {

// "train-images-idx3-ubyte" or its .gz, whichever is in `dir`.
std::string find_idx(const fs::path& dir, const std::string& stem) {
  for (const std::string& name : {stem, stem + ".gz"}) {
    if (fs::exists(dir / name)) return (dir / name).string();
  }
  throw std::runtime_error(dir.string() + ": no " + stem + " or " + stem + ".gz");
}

void report(const std::string& out, const io::MnistConversion& c) {
  std::printf("wrote %s: %lld images of 1x%lldx%lld\n", out.c_str(), static_cast<long long>(c.rows),
              static_cast<long long>(c.height), static_cast<long long>(c.width));
}

int convert_mnist(const Args& args) {
  po::options_description options("convert mnist options");
  std::string src, out, name_prefix;
  int gzip = 0;
  // clang-format off
  options.add_options()
      ("source", po::value(&src)->required(), "folder with the four IDX files of MNIST or a drop-in (raw or .gz)")
      ("out", po::value(&out)->required(), "output folder for PREFIX-train.h5 and PREFIX-test.h5")
      ("prefix", po::value(&name_prefix)->default_value("mnist"),
       "name of the output files, e.g. fashion for Fashion-MNIST: fashion-train.h5, fashion-test.h5")
      ("gzip", po::value(&gzip)->default_value(0), "gzip level for /data (0-9, 0: none)");
  // clang-format on
  po::positional_options_description positional;
  positional.add("source", 1).add("out", 1);
  po::variables_map vm;
  if (!parse_options(args, "usage: shardnet convert mnist SOURCE_DIR OUT_DIR [--prefix NAME]", options, vm,
                     &positional)) {
    return 0;
  }
  if (gzip < 0 || gzip > 9) throw UsageError("--gzip must be in 0..9");
  if (name_prefix.empty() || name_prefix.find('/') != std::string::npos) {
    throw UsageError("--prefix must be a file name without '/', not '" + name_prefix + "'");
  }
  fs::create_directories(out);
  for (const auto& [idx_prefix, split] : {std::pair{"train", "train"}, std::pair{"t10k", "test"}}) {
    const std::string images = find_idx(src, std::string(idx_prefix) + "-images-idx3-ubyte");
    const std::string labels = find_idx(src, std::string(idx_prefix) + "-labels-idx1-ubyte");
    const std::string target = (fs::path(out) / (name_prefix + "-" + split + ".h5")).string();
    report(target, io::convert_idx_pair(images, labels, target, gzip));
  }
  return 0;
}

int convert_idx(const Args& args) {
  po::options_description options("convert idx options");
  std::string images, labels, out;
  int gzip = 0;
  // clang-format off
  options.add_options()
      ("images", po::value(&images)->required(), "IDX image file (raw or .gz)")
      ("labels", po::value(&labels)->required(), "IDX label file (raw or .gz)")
      ("out", po::value(&out)->required(), "output HDF5 file")
      ("gzip", po::value(&gzip)->default_value(0), "gzip level for /data (0-9, 0: none)");
  // clang-format on
  po::positional_options_description positional;
  positional.add("out", 1);
  po::variables_map vm;
  if (!parse_options(args, "usage: shardnet convert idx --images FILE --labels FILE OUT.h5", options, vm, &positional))
    return 0;
  if (gzip < 0 || gzip > 9) throw UsageError("--gzip must be in 0..9");
  report(out, io::convert_idx_pair(images, labels, out, gzip));
  return 0;
}

// "a,b,c" -> {"a", "b", "c"}; an empty item is a usage error.
std::vector<std::string> split_list(const std::string& text, const std::string& flag) {
  std::vector<std::string> items;
  if (text.empty()) return items;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const auto first = item.find_first_not_of(" \t"), last = item.find_last_not_of(" \t");
    item = first == std::string::npos ? "" : item.substr(first, last - first + 1);
    if (item.empty()) throw UsageError(flag + " has an empty item: '" + text + "'");
    items.push_back(item);
    if (comma == std::string::npos) return items;
    start = comma + 1;
  }
}

// The value of `flag` among `choices`, as the matching enumerator.
template <typename Enum>
Enum choose(const std::string& value, const std::string& flag,
            std::initializer_list<std::pair<const char*, Enum>> choices) {
  std::string names;
  for (const auto& [name, e] : choices) {
    if (value == name) return e;
    names += (names.empty() ? "" : ", ") + std::string(name);
  }
  throw UsageError(flag + " must be one of " + names + ", not '" + value + "'");
}

io::Horizon parse_horizon(const std::string& value) {
  return choose<io::Horizon>(value, "--horizon", {{"every", io::Horizon::kEvery}, {"last", io::Horizon::kLast}});
}

io::Normalise parse_normalise(const std::string& value) {
  return choose<io::Normalise>(value, "--normalise",
                               {{"none", io::Normalise::kNone}, {"standard", io::Normalise::kStandard}});
}

io::HeaderMode parse_header(const std::string& value) {
  return choose<io::HeaderMode>(
      value, "--header", {{"auto", io::HeaderMode::kAuto}, {"yes", io::HeaderMode::kYes}, {"no", io::HeaderMode::kNo}});
}

io::TokenLevel parse_level(const std::string& value) {
  return choose<io::TokenLevel>(value, "--level", {{"char", io::TokenLevel::kChar}, {"word", io::TokenLevel::kWord}});
}

void create_parent_directory(const std::string& out_prefix) {
  const fs::path parent = fs::path(out_prefix).parent_path();
  if (!parent.empty()) fs::create_directories(parent);
}

std::string shape_text(std::initializer_list<int64_t> dims) {
  std::string out = "(";
  for (int64_t d : dims) out += (out.size() > 1 ? ", " : "") + std::to_string(d);
  return out + ")";
}

void report_windows(const std::vector<std::string>& paths, const io::WindowOptions& o, const io::SeriesWindows& w) {
  const auto d = static_cast<int64_t>(o.inputs.size()), k = static_cast<int64_t>(o.targets.size());
  for (size_t i = 0; i < paths.size(); ++i) {
    const io::WindowSet& part = i == 0 ? w.train : w.test;
    const std::string label =
        o.horizon == io::Horizon::kEvery ? shape_text({part.count, o.window, k}) : shape_text({part.count, k});
    std::printf("wrote %s: %lld windows, /data %s, /label %s, from series rows %lld-%lld\n", paths[i].c_str(),
                static_cast<long long>(part.count), shape_text({part.count, o.window, d}).c_str(), label.c_str(),
                static_cast<long long>(part.first_row), static_cast<long long>(part.first_row + part.part_rows - 1));
  }
}

int convert_csv(const Args& args) {
  po::options_description options("convert csv options");
  std::string csv, out, columns, targets, horizon, normalise, header;
  io::WindowOptions window;
  // clang-format off
  options.add_options()
      ("csv", po::value(&csv)->required(), "CSV time series, one row per time step")
      ("out", po::value(&out)->required(), "output prefix: writes PREFIX-train.h5 and PREFIX-test.h5")
      ("columns", po::value(&columns), "input columns, names or 0-based indices (default: all)")
      ("targets", po::value(&targets), "target columns (default: the input columns)")
      ("window", po::value(&window.window)->required(), "T: input steps per window")
      ("horizon", po::value(&horizon)->default_value("every"),
       "every: the next value at every step, /label (N, T, K); last: the value after the window, (N, K)")
      ("stride", po::value(&window.stride)->default_value(1), "rows between the starts of consecutive windows")
      ("test-fraction", po::value(&window.test_fraction)->default_value(0.2),
       "the last part of the rows (by time) that forms the test file; 0: no test file")
      ("train-windows", po::value(&window.max_train_windows)->default_value(0),
       "keep at most the first N training windows (0: all)")
      ("test-windows", po::value(&window.max_test_windows)->default_value(0),
       "keep at most the first M test windows (0: all)")
      ("normalise", po::value(&normalise)->default_value("standard"),
       "none | standard (per column, with the training part's mean and std)")
      ("header", po::value(&header)->default_value("auto"), "is the first line a header: auto | yes | no");
  // clang-format on
  po::positional_options_description positional;
  positional.add("csv", 1).add("out", 1);
  po::variables_map vm;
  if (!parse_options(args, "usage: shardnet convert csv CSV OUT_PREFIX --window T [options]", options, vm, &positional))
    return 0;
  window.horizon = parse_horizon(horizon);
  window.normalise = parse_normalise(normalise);
  const io::HeaderMode header_mode = parse_header(header);
  if (window.window < 1) throw UsageError("--window must be at least 1");
  if (window.stride < 1) throw UsageError("--stride must be at least 1");
  if (!(window.test_fraction >= 0 && window.test_fraction < 1)) throw UsageError("--test-fraction must be in [0, 1)");
  if (window.max_train_windows < 0 || window.max_test_windows < 0) {
    throw UsageError("--train-windows and --test-windows must be >= 0");
  }

  const auto input_specs = split_list(columns, "--columns");
  const auto target_specs = split_list(targets, "--targets");
  std::vector<std::string> wanted;
  if (!input_specs.empty()) {
    wanted = input_specs;
    wanted.insert(wanted.end(), target_specs.begin(), target_specs.end());
  }
  const io::Series series = io::read_csv_series(csv, header_mode, wanted);
  for (const auto& spec : input_specs) window.inputs.push_back(series.find(spec));
  if (input_specs.empty()) {
    for (int64_t c = 0; c < series.columns(); ++c) window.inputs.push_back(c);
  }
  for (const auto& spec : target_specs) window.targets.push_back(series.find(spec));
  if (target_specs.empty()) window.targets = window.inputs;

  const io::SeriesWindows windows = io::make_windows(series, window);
  create_parent_directory(out);
  report_windows(io::write_windows(series, window, windows, out, "CSV: " + csv), window, windows);
  return 0;
}

int convert_sine(const Args& args) {
  po::options_description options("convert sine options");
  std::string out, csv, normalise = "none";
  io::SineOptions sine;
  // clang-format off
  options.add_options()
      ("out", po::value(&out), "output prefix: writes PREFIX-train.h5 and PREFIX-test.h5")
      ("csv", po::value(&csv), "also (or instead) write the raw series (x, y) to this CSV file")
      ("window", po::value(&sine.window)->default_value(10), "T: input steps per window (targets: the next T values)")
      ("stride", po::value(&sine.stride)->default_value(1), "samples between the starts of consecutive windows")
      ("train-windows", po::value(&sine.train_windows)->default_value(10000), "training windows")
      ("test-windows", po::value(&sine.test_windows)->default_value(1000),
       "test windows, starting after the last training sample (0: no test file)")
      ("dx", po::value(&sine.dx)->default_value(0.01), "x step between samples")
      ("noise", po::value(&sine.noise)->default_value(0.05), "uniform noise in [-noise, noise] added to each sample")
      ("seed", po::value(&sine.seed)->default_value(1), "seed of the noise")
      ("normalise", po::value(&normalise)->default_value("none"),
       "none | standard (with the training part's mean and std)");
  // clang-format on
  po::positional_options_description positional;
  positional.add("out", 1);
  po::variables_map vm;
  const std::string usage =
      "usage: shardnet convert sine [OUT_PREFIX] [--csv FILE] [options]\n"
      "y(x) = sin(pi x/3) + cos(pi x/3) + sin(2 pi x/3) + noise, windows of T inputs predicting the next T values";
  if (!parse_options(args, usage, options, vm, &positional)) return 0;
  if (out.empty() && csv.empty()) throw UsageError("give an OUT_PREFIX, --csv FILE or both");
  if (sine.window < 1 || sine.stride < 1) throw UsageError("--window and --stride must be at least 1");
  if (sine.train_windows < 1 || sine.test_windows < 0) {
    throw UsageError("--train-windows must be at least 1 and --test-windows at least 0");
  }
  if (!(sine.dx > 0) || !(sine.noise >= 0)) throw UsageError("--dx must be > 0 and --noise >= 0");
  const io::Normalise normalise_mode = parse_normalise(normalise);
  const io::Series series = io::make_sine_series(sine);
  io::WindowOptions window = io::sine_window_options(sine, series.rows());
  window.normalise = normalise_mode;
  if (!csv.empty()) {
    create_parent_directory(csv);
    io::write_series_csv(series, csv);
    std::printf(
        "wrote %s: %lld samples (x, y); the same windows from it:\n"
        "  shardnet convert csv %s PREFIX --columns y --window %lld --horizon every --stride %lld "
        "--test-fraction %.17g --train-windows %lld --test-windows %lld --normalise %s\n",
        csv.c_str(), static_cast<long long>(series.rows()), csv.c_str(), static_cast<long long>(sine.window),
        static_cast<long long>(sine.stride), window.test_fraction, static_cast<long long>(sine.train_windows),
        static_cast<long long>(sine.test_windows), normalise.c_str());
  }
  if (out.empty()) return 0;
  const io::SeriesWindows windows = io::make_windows(series, window);
  create_parent_directory(out);
  const auto annotate = [&](io::DatasetWriter& writer) {
    writer.set_float_list_attribute("dx", {sine.dx});
    writer.set_float_list_attribute("noise", {sine.noise});
    writer.set_int_attribute("seed", static_cast<int64_t>(sine.seed));
  };
  const std::string source = "sine: y(x) = sin(pi x/3) + cos(pi x/3) + sin(2 pi x/3) + uniform noise";
  report_windows(io::write_windows(series, window, windows, out, source, annotate), window, windows);
  return 0;
}

int convert_text(const Args& args) {
  po::options_description options("convert text options");
  std::string out, level = "char", split = "0.8,0.1,0.1", class_names;
  std::vector<std::string> files;
  io::TextOptions text;
  // clang-format off
  options.add_options()
      ("out", po::value(&out)->required(), "output prefix: writes PREFIX-train.h5, -val.h5, -test.h5")
      ("files", po::value(&files)->multitoken()->required(),
       "class files, one example per non-empty line; the class is the file name without .txt")
      ("level", po::value(&level)->default_value("char"), "char (UTF-8 code points) | word (split on whitespace)")
      ("min-count", po::value(&text.min_count)->default_value(1),
       "tokens seen fewer times in the training split become <unk>")
      ("max-length", po::value(&text.max_length)->default_value(0),
       "T: longer examples are truncated (0: the longest training example)")
      ("lowercase", po::bool_switch(&text.lowercase), "lower-case the text first")
      ("seed", po::value(&text.seed)->default_value(1), "seed of the shuffled split")
      ("split", po::value(&split)->default_value("0.8,0.1,0.1"), "train,val,test fractions; a 0 skips that file")
      ("class-names", po::value(&class_names), "one class name per file, in label order (default: sorted file names)");
  // clang-format on
  po::positional_options_description positional;
  positional.add("out", 1).add("files", -1);
  po::variables_map vm;
  if (!parse_options(args, "usage: shardnet convert text OUT_PREFIX FILE... [options]", options, vm, &positional))
    return 0;
  text.level = parse_level(level);
  const auto fractions = split_list(split, "--split");
  if (fractions.size() != 3) throw UsageError("--split needs three fractions, train,val,test: '" + split + "'");
  for (size_t i = 0; i < 3; ++i) {
    try {
      size_t used = 0;
      text.split[i] = std::stod(fractions[i], &used);
      if (used != fractions[i].size()) throw std::invalid_argument("trailing characters");
    } catch (const std::exception&) {
      throw UsageError("--split: '" + fractions[i] + "' is not a number");
    }
  }
  text.class_names = split_list(class_names, "--class-names");
  if (text.min_count < 1) throw UsageError("--min-count must be at least 1");
  if (text.max_length < 0) throw UsageError("--max-length must be >= 0");

  create_parent_directory(out);
  for (const io::SplitSummary& s : io::convert_text(files, out, text)) {
    std::printf("wrote %s: %lld examples, vocabulary %lld, max length %lld (longest %lld), %lld truncated\n",
                s.path.c_str(), static_cast<long long>(s.examples), static_cast<long long>(s.vocabulary),
                static_cast<long long>(s.max_length), static_cast<long long>(s.longest),
                static_cast<long long>(s.truncated));
  }
  return 0;
}

int convert_skipgram(const Args& args) {
  po::options_description options("convert skipgram options");
  std::string out;
  std::vector<std::string> files;
  io::SkipGramOptions o;
  bool keep_case = false;
  // clang-format off
  options.add_options()
      ("out", po::value(&out)->required(), "output data set (HDF5)")
      ("files", po::value(&files)->multitoken()->required(), "text files, one sentence per line")
      ("window", po::value(&o.window)->default_value(5), "most words on each side paired with a word")
      ("min-count", po::value(&o.min_count)->default_value(5), "words seen fewer times are left out")
      ("max-vocab", po::value(&o.max_vocab)->default_value(0), "keep only this many most frequent words (0: all)")
      ("subsample", po::value(&o.subsample)->default_value(1e-3, "1e-3"),
       "frequent-word subsampling threshold t (0: off)")
      ("keep-case", po::bool_switch(&keep_case), "do not lower-case the text")
      ("seed", po::value(&o.seed)->default_value(1), "seed of the subsampling and window draws");
  // clang-format on
  po::positional_options_description positional;
  positional.add("out", 1).add("files", -1);
  po::variables_map vm;
  if (!parse_options(args, "usage: shardnet convert skipgram OUT.h5 FILE... [options]", options, vm, &positional))
    return 0;
  o.lowercase = !keep_case;
  if (o.window < 1) throw UsageError("--window must be at least 1");
  if (o.min_count < 1) throw UsageError("--min-count must be at least 1");
  if (o.max_vocab < 0) throw UsageError("--max-vocab must be >= 0");
  if (!(o.subsample >= 0.0)) throw UsageError("--subsample must be >= 0");
  create_parent_directory(out);
  const io::SkipGramSummary s = io::convert_skipgram(files, out, o);
  std::printf(
      "wrote %s: %lld pairs from %lld sentences, %lld words (%lld in the vocabulary of %lld, %lld kept by "
      "subsampling)\n",
      out.c_str(), static_cast<long long>(s.pairs), static_cast<long long>(s.sentences),
      static_cast<long long>(s.words), static_cast<long long>(s.in_vocabulary), static_cast<long long>(s.vocabulary),
      static_cast<long long>(s.kept));
  return 0;
}

// "HxW" or "N" (square) -> (H, W).
std::pair<int64_t, int64_t> parse_size(const std::string& text) {
  const auto number = [&](const std::string& part) {
    size_t used = 0;
    long long value = 0;
    try {
      value = std::stoll(part, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != part.size() || value < 1 || value > 65535) {
      throw UsageError("--size must be HxW or N with sizes in 1..65535, not '" + text + "'");
    }
    return static_cast<int64_t>(value);
  };
  const size_t x = text.find_first_of("xX");
  if (x == std::string::npos) return {number(text), number(text)};
  return {number(text.substr(0, x)), number(text.substr(x + 1))};
}

std::string list_text(const std::vector<double>& values) {
  std::string out = "[";
  for (double v : values) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.4f", v);
    out += (out.size() > 1 ? ", " : "") + std::string(buffer);
  }
  return out + "]";
}

int convert_images(const Args& args) {
  po::options_description options("convert images options");
  std::string root, out, size;
  io::ImageOptions image;
  const auto cores = static_cast<int64_t>(std::max(1u, std::thread::hardware_concurrency()));
  // clang-format off
  options.add_options()
      ("root", po::value(&root)->required(), "folder of class folders: ROOT/<class>/<image>")
      ("out", po::value(&out)->required(), "output HDF5 file")
      ("size", po::value(&size), "HxW or N (square): resize every image to it, bilinear "
       "(default: all images must have the first one's size)")
      ("channels", po::value(&image.channels)->default_value(3),
       "3: RGB (gray images repeated); 1: gray (RGB as 0.299 R + 0.587 G + 0.114 B)")
      ("val-per-class", po::value(&image.val_per_class)->default_value(0),
       "the last K files (by name) of each class go to the --val file")
      ("val", po::value(&image.val_path), "output HDF5 file for the validation images")
      ("skip-bad", po::bool_switch(&image.skip_bad), "skip (and count) images that do not decode instead of failing")
      ("threads", po::value(&image.threads)->default_value(cores), "decoding threads")
      ("gzip", po::value(&image.gzip_level)->default_value(0), "gzip level for /data (0-9, 0: none)");
  // clang-format on
  po::positional_options_description positional;
  positional.add("root", 1).add("out", 1);
  po::variables_map vm;
  const std::string usage =
      "usage: shardnet convert images ROOT OUT.h5 [options]\n"
      "ROOT/<class>/*.{jpg,jpeg,png} -> /data (N, C, H, W) uint8, /label (N,) int32, classes sorted by name";
  if (!parse_options(args, usage, options, vm, &positional)) return 0;
  if (image.gzip_level < 0 || image.gzip_level > 9) throw UsageError("--gzip must be in 0..9");
  if (image.channels != 1 && image.channels != 3) throw UsageError("--channels must be 1 or 3");
  if (image.threads < 1) throw UsageError("--threads must be at least 1");
  if (image.val_per_class < 0) throw UsageError("--val-per-class must be >= 0");
  if (image.val_per_class > 0 && image.val_path.empty()) throw UsageError("--val-per-class needs --val OUT_VAL.h5");
  if (image.val_per_class == 0 && !image.val_path.empty()) throw UsageError("--val needs --val-per-class K > 0");
  if (!size.empty()) std::tie(image.height, image.width) = parse_size(size);

  const auto start = std::chrono::steady_clock::now();
  create_parent_directory(out);
  if (!image.val_path.empty()) create_parent_directory(image.val_path);
  const io::ImageConversion c = io::convert_image_folder(root, out, image);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (const std::string& skipped : c.skipped) std::fprintf(stderr, "shardnet convert: skipped %s\n", skipped.c_str());
  for (const io::ImageFileSummary& f : c.files) {
    std::printf("wrote %s: %lld images, /data %s uint8\n", f.path.c_str(), static_cast<long long>(f.images),
                shape_text({f.images, c.channels, c.height, c.width}).c_str());
  }
  std::printf("%lld classes, %lldx%lld%s, %lld skipped, %lld ignored files, mean %s, std %s, %.1f s on %lld threads\n",
              static_cast<long long>(c.classes), static_cast<long long>(c.height), static_cast<long long>(c.width),
              c.resized ? " (resized)" : "", static_cast<long long>(c.skipped.size()),
              static_cast<long long>(c.ignored), list_text(c.mean).c_str(), list_text(c.std).c_str(), seconds,
              static_cast<long long>(image.threads));
  return 0;
}

}  // namespace

int convert_command(const Args& args) {
  const std::string usage =
      "usage: shardnet convert FORMAT ...\n"
      "formats:\n"
      "  mnist SOURCE_DIR OUT_DIR                     the four MNIST IDX files -> mnist-{train,test}.h5\n"
      "  idx --images FILE --labels FILE OUT.h5       one IDX image/label pair -> OUT.h5\n"
      "  csv CSV OUT_PREFIX --window T                a CSV time series -> sliding windows,\n"
      "                                               OUT_PREFIX-{train,test}.h5 split by time\n"
      "  sine [OUT_PREFIX] [--csv FILE]               generated sine series -> windows (or the raw CSV)\n"
      "  text OUT_PREFIX FILE...                      labelled text, one file per class -> token ids,\n"
      "                                               OUT_PREFIX-{train,val,test}.h5\n"
      "  images ROOT OUT.h5                           ROOT/<class>/*.{jpg,jpeg,png} -> OUT.h5 (N, C, H, W) uint8\n"
      "  skipgram OUT.h5 FILE...                      text, one sentence per line -> word2vec's skip-gram pairs\n"
      "`shardnet convert FORMAT --help` shows a format's options.\n";
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::printf("%s", usage.c_str());
    return args.empty() ? 2 : 0;
  }
  const Args rest(args.begin() + 1, args.end());
  if (args[0] == "mnist") return convert_mnist(rest);
  if (args[0] == "idx") return convert_idx(rest);
  if (args[0] == "csv") return convert_csv(rest);
  if (args[0] == "sine") return convert_sine(rest);
  if (args[0] == "text") return convert_text(rest);
  if (args[0] == "images") return convert_images(rest);
  if (args[0] == "skipgram") return convert_skipgram(rest);
  throw UsageError("unknown format '" + args[0] + "' (expected mnist, idx, csv, sine, text, images or skipgram)");
}

}  // namespace shardnet::tools
