#include "io/dataset_writer.h"

#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include "io/hdf5.h"

namespace shardnet::io {
namespace {

H5Id create_extendible(hid_t file, const char* name, hid_t type, const std::vector<hsize_t>& row_dims, int gzip_level,
                       const std::string& context) {
  std::vector<hsize_t> dims{0}, max_dims{H5S_UNLIMITED}, chunk;
  dims.insert(dims.end(), row_dims.begin(), row_dims.end());
  max_dims.insert(max_dims.end(), row_dims.begin(), row_dims.end());
  hsize_t row_bytes = H5Tget_size(type);
  for (hsize_t d : row_dims) row_bytes *= d;
  // About 1 MiB per chunk, at least one row.
  chunk.push_back(std::max<hsize_t>(1, (1 << 20) / std::max<hsize_t>(row_bytes, 1)));
  chunk.insert(chunk.end(), row_dims.begin(), row_dims.end());
  H5Id space(h5_check_id(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), max_dims.data()), context),
             H5Sclose);
  H5Id dcpl(h5_check_id(H5Pcreate(H5P_DATASET_CREATE), context), H5Pclose);
  h5_check(H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data()), context);
  if (gzip_level > 0) {
    h5_check(H5Pset_shuffle(dcpl.get()), context);
    h5_check(H5Pset_deflate(dcpl.get(), static_cast<unsigned>(gzip_level)), context);
  }
  return H5Id(h5_check_id(H5Dcreate2(file, name, type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
                          context + ": cannot create " + name),
              H5Dclose);
}

void append_rows(hid_t dataset, hid_t mem_type, const void* data, int64_t first, int64_t rows,
                 const std::string& context) {
  auto dims = dataset_dims(dataset, context);
  dims[0] = static_cast<hsize_t>(first + rows);
  h5_check(H5Dset_extent(dataset, dims.data()), context + ": extending");
  H5Id file_space(h5_check_id(H5Dget_space(dataset), context), H5Sclose);
  std::vector<hsize_t> start(dims.size(), 0), count(dims);
  start[0] = static_cast<hsize_t>(first);
  count[0] = static_cast<hsize_t>(rows);
  h5_check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr),
           context);
  H5Id mem_space(h5_check_id(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr), context),
                 H5Sclose);
  h5_check(H5Dwrite(dataset, mem_type, mem_space.get(), file_space.get(), H5P_DEFAULT, data), context + ": writing");
}

hid_t file_type(ElementType type) {
  switch (type) {
    case ElementType::kUint8:
      return H5T_STD_U8LE;
    case ElementType::kInt32:
      return H5T_STD_I32LE;
    case ElementType::kFloat32:
      return H5T_IEEE_F32LE;
  }
  return H5T_STD_U8LE;
}

// A caller that appends what its DatasetInfo did not declare has a bug, not bad data.
void require(bool condition, const std::string& path, const std::string& what) {
  if (!condition) throw std::logic_error(path + ": DatasetWriter: " + what);
}

}  // namespace

const char* element_type_name(ElementType type) {
  switch (type) {
    case ElementType::kUint8:
      return "uint8";
    case ElementType::kInt32:
      return "int32";
    case ElementType::kFloat32:
      return "float32";
  }
  return "?";
}

DatasetWriter::DatasetWriter(std::string path, DatasetInfo info)
    : path_(std::move(path)), tmp_path_(path_ + ".tmp"), info_(std::move(info)) {
  file_ = create_file(tmp_path_);
  const std::vector<hsize_t> row_dims(info_.sample_shape.begin(), info_.sample_shape.end());
  data_ = create_extendible(file_.get(), "/data", file_type(info_.data_type), row_dims, info_.gzip_level, path_);
  if (info_.label_type == LabelType::kClassIds) {
    label_ = create_extendible(file_.get(), "/label", H5T_STD_I32LE, {}, info_.gzip_level, path_);
  } else {
    const std::vector<hsize_t> target_dims(info_.target_shape.begin(), info_.target_shape.end());
    label_ = create_extendible(file_.get(), "/label", H5T_IEEE_F32LE, target_dims, info_.gzip_level, path_);
  }
  if (info_.has_lengths) {
    length_ = create_extendible(file_.get(), "/length", H5T_STD_I32LE, {}, info_.gzip_level, path_);
  }
}

DatasetWriter::~DatasetWriter() {
  if (!finished_) {
    data_.reset();
    label_.reset();
    length_.reset();
    file_.reset();
    std::remove(tmp_path_.c_str());
  }
}

void DatasetWriter::append(const uint8_t* data, const int32_t* labels, int64_t rows) {
  append_data(data, rows);
  append_class_ids(labels, rows);
}

void DatasetWriter::append_data_as(ElementType type, hid_t mem_type, const void* data, int64_t rows) {
  require(info_.data_type == type, path_,
          std::string("appending ") + element_type_name(type) + " rows to " + element_type_name(info_.data_type) +
              " /data");
  if (rows == 0) return;
  append_rows(data_.get(), mem_type, data, data_rows_, rows, path_ + ": /data");
  data_rows_ += rows;
}

void DatasetWriter::append_data(const uint8_t* data, int64_t rows) {
  append_data_as(ElementType::kUint8, H5T_NATIVE_UINT8, data, rows);
}
void DatasetWriter::append_data(const int32_t* data, int64_t rows) {
  append_data_as(ElementType::kInt32, H5T_NATIVE_INT32, data, rows);
}
void DatasetWriter::append_data(const float* data, int64_t rows) {
  append_data_as(ElementType::kFloat32, H5T_NATIVE_FLOAT, data, rows);
}

void DatasetWriter::append_class_ids(const int32_t* labels, int64_t rows) {
  require(info_.label_type == LabelType::kClassIds, path_, "appending class ids to float32 targets");
  if (rows == 0) return;
  append_rows(label_.get(), H5T_NATIVE_INT32, labels, label_rows_, rows, path_ + ": /label");
  label_rows_ += rows;
}

void DatasetWriter::append_targets(const float* targets, int64_t rows) {
  require(info_.label_type == LabelType::kTargets, path_, "appending float targets to int32 class ids");
  if (rows == 0) return;
  append_rows(label_.get(), H5T_NATIVE_FLOAT, targets, label_rows_, rows, path_ + ": /label");
  label_rows_ += rows;
}

void DatasetWriter::append_lengths(const int32_t* lengths, int64_t rows) {
  require(info_.has_lengths, path_, "appending lengths without has_lengths");
  if (rows == 0) return;
  append_rows(length_.get(), H5T_NATIVE_INT32, lengths, length_rows_, rows, path_ + ": /length");
  length_rows_ += rows;
}

void DatasetWriter::write_vocab(const std::vector<std::string>& tokens) {
  write_string_dataset(file_.get(), "/vocab", tokens);
}

void DatasetWriter::write_float_array(const std::string& name, const std::vector<float>& values) {
  write_float_dataset(file_.get(), name, {values.size()}, values.data());
}

void DatasetWriter::set_string_attribute(const std::string& name, const std::string& value) {
  write_string_attribute(file_.get(), name, value);
}
void DatasetWriter::set_int_attribute(const std::string& name, int64_t value) {
  write_int_attribute(file_.get(), name, value);
}
void DatasetWriter::set_float_list_attribute(const std::string& name, const std::vector<double>& values) {
  write_float_list_attribute(file_.get(), name, values);
}
void DatasetWriter::set_string_list_attribute(const std::string& name, const std::vector<std::string>& values) {
  write_string_list_attribute(file_.get(), name, values);
}

void DatasetWriter::finish() {
  require(label_rows_ == data_rows_, path_,
          "/data has " + std::to_string(data_rows_) + " rows but /label " + std::to_string(label_rows_));
  require(!info_.has_lengths || length_rows_ == data_rows_, path_,
          "/data has " + std::to_string(data_rows_) + " rows but /length " + std::to_string(length_rows_));
  const hid_t root = file_.get();
  write_string_attribute(root, "format", "shardnet-dataset");
  write_int_attribute(root, "version", 1);
  if (!info_.classes.empty()) write_string_list_attribute(root, "classes", info_.classes);
  write_string_attribute(root, "source", info_.source);
  data_.reset();
  label_.reset();
  length_.reset();
  h5_check(H5Fflush(root, H5F_SCOPE_GLOBAL), tmp_path_ + ": flush");
  file_.reset();
  std::error_code ec;
  std::filesystem::rename(tmp_path_, path_, ec);
  if (ec) throw Hdf5Error(path_ + ": cannot move the finished file into place: " + ec.message());
  finished_ = true;
}

}  // namespace shardnet::io
