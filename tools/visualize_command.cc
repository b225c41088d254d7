#include <cstdio>
#include <filesystem>
#include <optional>

#include "core/gemm.h"
#include "core/inspection.h"
#include "core/model_file.h"
#include "io/checkpoint.h"
#include "io/dataset.h"
#include "io/net_pictures.h"
#include "tools/commands.h"
#include "tools/options.h"
#include "tools/run_setup.h"

namespace shardnet::tools {

int visualize_command(const Args& args) {
  po::options_description options("visualize options");
  std::string model_path, weights, data_path, out_dir;
  int64_t row = 0, reconstructions = 16, class_id = -1;
  int threads = 0;
  // clang-format off
  options.add_options()
      ("weights,w", po::value(&weights)->required(), "checkpoint (HDF5) of the net to look into")
      ("data,d", po::value(&data_path)->required(), "data set (HDF5) holding the input")
      ("row", po::value(&row)->default_value(0), "the input: this row of the data set")
      ("out,o", po::value(&out_dir)->required(), "folder for the PNG files")
      ("class", po::value(&class_id)->default_value(-1), "class to explain (-1: the net's top class)")
      ("reconstructions", po::value(&reconstructions)->default_value(16),
       "rows from --row on to show beside their outputs, for a net whose output has its input's shape")
      ("model,m", po::value(&model_path), "model file (default: the model text stored in the checkpoint)")
      ("threads", po::value(&threads)->default_value(0), "BLAS threads (0: OPENBLAS_NUM_THREADS or all cores)");
  // clang-format on
  po::variables_map vm;
  if (!parse_options(args, "usage: shardnet visualize --weights FILE --data FILE --row I --out DIR", options, vm)) {
    return 0;
  }
  if (reconstructions < 1) throw UsageError("--reconstructions must be at least 1");
  set_threads(threads);
  const CheckpointModel model = checkpoint_model(weights, model_path);
  auto net = parse_model(model.text, model.name);
  io::load_checkpoint(weights, *net, nullptr);
  io::Dataset data(data_path);
  net->check_data(data.description(), model.name);
  if (row < 0 || row >= data.size()) {
    throw std::runtime_error(data_path + ": --row " + std::to_string(row) + " is outside its " +
                             std::to_string(data.size()) + " rows");
  }
  std::filesystem::create_directories(out_dir);
  const bool autoencoder = net->output_shape() == net->input_shape();
  const int64_t count = autoencoder ? std::min(reconstructions, data.size() - row) : 1;
  std::vector<int64_t> rows;
  for (int64_t i = 0; i < count; ++i) rows.push_back(row + i);
  Batch batch;
  data.read(rows, batch);
  Shape shape = net->input_shape();
  shape.insert(shape.begin(), count);
  batch.data.reshape(shape);
  Tensor input = batch.data;
  shape[0] = 1;
  input.reshape(shape);  // the first row

  std::vector<std::string> written;
  if (io::write_filters_png(*net, out_dir + "/filters.png")) written.push_back(out_dir + "/filters.png");
  net->keep_outputs(true);  // every layer's feature maps are drawn
  net->forward(input, Mode::kEval);
  for (const std::string& f : io::write_feature_map_pngs(*net, out_dir + "/feature_maps")) written.push_back(f);
  if (autoencoder) {
    io::write_reconstructions_png(*net, batch.data, out_dir + "/reconstructions.png");
    written.push_back(out_dir + "/reconstructions.png");
  } else {
    const ClassExplanation e =
        explain_class(*net, input, class_id >= 0 ? std::optional<int64_t>(class_id) : std::nullopt);
    const auto& names = data.class_names();
    auto name = [&](int64_t c) {
      return c < static_cast<int64_t>(names.size()) ? names[static_cast<size_t>(c)] : std::to_string(c);
    };
    std::printf("row %lld: label %s, explaining class %s (score %.4g)%s\n", static_cast<long long>(row),
                batch.labels.empty() ? "-" : name(batch.labels.front()).c_str(), name(e.class_id).c_str(), e.score,
                e.cam_layer >= 0 ? (", Grad-CAM on " + net->layer(static_cast<size_t>(e.cam_layer)).name()).c_str()
                                 : ", no spatial layer for Grad-CAM");
    for (const std::string& f : io::write_explanation_pngs(input, net->input_shape(), e, out_dir)) {
      written.push_back(f);
    }
  }
  for (const std::string& f : written) std::printf("wrote %s\n", f.c_str());
  return 0;
}

}  // namespace shardnet::tools
