#include "io/input_preprocessing.h"

#include <hdf5.h>

#include <algorithm>

#include "io/dataset.h"
#include "io/hdf5.h"

namespace shardnet::io {
namespace {

constexpr const char* kGroup = "/preprocessing";

ElementType parse_element_type(const std::string& name, const std::string& context) {
  for (ElementType type : {ElementType::kUint8, ElementType::kInt32, ElementType::kFloat32}) {
    if (name == element_type_name(type)) return type;
  }
  throw DatasetError(context + ": data_type '" + name + "' is not uint8, int32 or float32");
}

InputKind parse_input_kind(const std::string& name, const std::string& context) {
  for (InputKind kind : {InputKind::kTensor, InputKind::kImage, InputKind::kText, InputKind::kSeries}) {
    if (name == input_kind_name(kind)) return kind;
  }
  throw DatasetError(context + ": kind '" + name + "' is not tensor, image, text or series");
}

TokenLevel parse_level(const std::string& name, const std::string& context) {
  if (name == token_level_name(TokenLevel::kChar)) return TokenLevel::kChar;
  if (name == token_level_name(TokenLevel::kWord)) return TokenLevel::kWord;
  throw DatasetError(context + ": level '" + name + "' is not char or word");
}

Horizon parse_horizon(const std::string& name, const std::string& context) {
  if (name == horizon_name(Horizon::kEvery)) return Horizon::kEvery;
  if (name == horizon_name(Horizon::kLast)) return Horizon::kLast;
  throw DatasetError(context + ": horizon '" + name + "' is not every or last");
}

std::vector<double> float_list_or_empty(hid_t obj, const std::string& name, const std::string& context) {
  return has_attribute(obj, name) ? read_float_list_attribute(obj, name, context) : std::vector<double>{};
}

std::vector<std::string> string_list_or_empty(hid_t obj, const std::string& name, const std::string& context) {
  return has_attribute(obj, name) ? read_string_list_attribute(obj, name, context) : std::vector<std::string>{};
}

// The attributes of a kind, on the data file's "/" or the checkpoint's group (the same names).
void read_kind_attributes(hid_t obj, const std::string& context, InputPreprocessing& p) {
  if (p.kind == InputKind::kText) {
    p.level = parse_level(read_string_attribute(obj, "level", context), context);
    p.lowercase = has_attribute(obj, "lowercase") && read_int_attribute(obj, "lowercase", context) != 0;
  }
  if (p.kind == InputKind::kSeries) {
    p.columns = read_string_list_attribute(obj, "columns", context);
    p.mean = read_float_list_attribute(obj, "mean", context);
    p.std = read_float_list_attribute(obj, "std", context);
    p.target_columns = string_list_or_empty(obj, "target_columns", context);
    p.target_mean = float_list_or_empty(obj, "target_mean", context);
    p.target_std = float_list_or_empty(obj, "target_std", context);
    if (has_attribute(obj, "horizon"))
      p.horizon = parse_horizon(read_string_attribute(obj, "horizon", context), context);
  }
}

// What the model's rows must look like for the kind: a description that cannot prepare the rows it
// claims to is refused here, not at prediction time.
void check_consistent(const InputPreprocessing& p, const std::string& context) {
  const auto fail = [&](const std::string& what) {
    throw DatasetError(context + ": " + input_kind_name(p.kind) + " preprocessing: " + what);
  };
  if (p.kind == InputKind::kImage && (p.sample_shape.size() != 3 || (p.sample_shape[0] != 1 && p.sample_shape[0] != 3)))
    fail("rows of shape " + shape_string(p.sample_shape) + " are not (1 or 3 channels, height, width)");
  if (p.kind == InputKind::kText) {
    if (p.sample_shape.size() != 1) fail("rows of shape " + shape_string(p.sample_shape) + " are not (steps)");
    if (p.vocab.size() < 2) fail("no vocabulary (/vocab)");
  }
  if (p.kind == InputKind::kSeries) {
    if (p.sample_shape.size() != 2) fail("rows of shape " + shape_string(p.sample_shape) + " are not (steps, columns)");
    const auto d = static_cast<size_t>(p.sample_shape[1]);
    if (p.columns.size() != d || p.mean.size() != d || p.std.size() != d)
      fail("columns, mean and std need one entry per input column (" + std::to_string(d) + ")");
    if (p.target_mean.size() != p.target_columns.size() || p.target_std.size() != p.target_columns.size())
      fail("target_mean and target_std need one entry per target column");
    if (std::any_of(p.std.begin(), p.std.end(), [](double s) { return !(s > 0.0); })) fail("a std is not positive");
  }
}

InputKind infer_kind(hid_t root, const Dataset& data) {
  const Shape& shape = data.sample_shape();
  if (data.data_type() == ElementType::kInt32 && has_attribute(root, "level") && !data.vocab().empty() &&
      shape.size() == 1) {
    return InputKind::kText;
  }
  if (data.data_type() == ElementType::kFloat32 && has_attribute(root, "window") && has_attribute(root, "columns") &&
      shape.size() == 2) {
    return InputKind::kSeries;
  }
  if (data.data_type() == ElementType::kUint8 && shape.size() == 3 && (shape[0] == 1 || shape[0] == 3)) {
    return InputKind::kImage;
  }
  return InputKind::kTensor;
}

}  // namespace

const char* input_kind_name(InputKind kind) {
  switch (kind) {
    case InputKind::kTensor:
      return "tensor";
    case InputKind::kImage:
      return "image";
    case InputKind::kText:
      return "text";
    case InputKind::kSeries:
      return "series";
  }
  return "?";
}

InputPreprocessing read_data_preprocessing(const Dataset& data) {
  InputPreprocessing p;
  p.sample_shape = data.sample_shape();
  p.data_type = data.data_type();
  p.classes = data.class_names();
  p.vocab = data.vocab();
  H5Id file = open_file(data.path(), false);
  p.kind = infer_kind(file.get(), data);
  read_kind_attributes(file.get(), data.path(), p);
  check_consistent(p, data.path());
  return p;
}

void write_preprocessing(hid_t file, const InputPreprocessing& p) {
  H5Id group(h5_check_id(H5Gcreate2(file, kGroup, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), kGroup), H5Gclose);
  const hid_t g = group.get();
  write_string_attribute(g, "kind", input_kind_name(p.kind));
  write_float_list_attribute(g, "sample_shape", {p.sample_shape.begin(), p.sample_shape.end()});
  write_string_attribute(g, "data_type", element_type_name(p.data_type));
  if (!p.classes.empty()) write_string_list_attribute(g, "classes", p.classes);
  if (p.kind == InputKind::kText) {
    write_string_attribute(g, "level", token_level_name(p.level));
    write_int_attribute(g, "lowercase", p.lowercase ? 1 : 0);
  }
  if (!p.vocab.empty()) write_string_dataset(file, std::string(kGroup) + "/vocab", p.vocab);
  if (p.kind == InputKind::kSeries) {
    write_string_list_attribute(g, "columns", p.columns);
    write_float_list_attribute(g, "mean", p.mean);
    write_float_list_attribute(g, "std", p.std);
    if (!p.target_columns.empty()) {
      write_string_list_attribute(g, "target_columns", p.target_columns);
      write_float_list_attribute(g, "target_mean", p.target_mean);
      write_float_list_attribute(g, "target_std", p.target_std);
    }
    write_string_attribute(g, "horizon", horizon_name(p.horizon));
  }
}

std::optional<InputPreprocessing> read_checkpoint_preprocessing(hid_t file, const std::string& path) {
  if (!has_link(file, kGroup)) return std::nullopt;
  const std::string context = path + ": " + kGroup;
  H5Id group(h5_check_id(H5Gopen2(file, kGroup, H5P_DEFAULT), context), H5Gclose);
  const hid_t g = group.get();
  InputPreprocessing p;
  p.kind = parse_input_kind(read_string_attribute(g, "kind", context), context);
  for (double d : read_float_list_attribute(g, "sample_shape", context)) {
    if (!(d >= 1.0 && d <= 1e12)) throw DatasetError(context + ": sample_shape holds " + std::to_string(d));
    p.sample_shape.push_back(static_cast<int64_t>(d));
  }
  p.data_type = parse_element_type(read_string_attribute(g, "data_type", context), context);
  p.classes = string_list_or_empty(g, "classes", context);
  if (has_link(file, std::string(kGroup) + "/vocab"))
    p.vocab = read_string_dataset(file, std::string(kGroup) + "/vocab", path);
  read_kind_attributes(g, context, p);
  check_consistent(p, context);
  return p;
}

}  // namespace shardnet::io
