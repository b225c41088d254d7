#include "io/dataset_writer.h"

#include <cstdio>
#include <filesystem>

namespace shardnet::io {
namespace {

H5Id create_extendible(hid_t file, const char* name, hid_t type, const std::vector<hsize_t>& row_dims,
                       int gzip_level, const std::string& context) {
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
  h5_check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr), context);
  H5Id mem_space(h5_check_id(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr), context), H5Sclose);
  h5_check(H5Dwrite(dataset, mem_type, mem_space.get(), file_space.get(), H5P_DEFAULT, data), context + ": writing");
}

}  // namespace

DatasetWriter::DatasetWriter(std::string path, DatasetInfo info)
    : path_(std::move(path)), tmp_path_(path_ + ".tmp"), info_(std::move(info)) {
  file_ = create_file(tmp_path_);
  std::vector<hsize_t> row_dims(info_.sample_shape.begin(), info_.sample_shape.end());
  data_ = create_extendible(file_.get(), "/data", H5T_STD_U8LE, row_dims, info_.gzip_level, path_);
  label_ = create_extendible(file_.get(), "/label", H5T_STD_I32LE, {}, info_.gzip_level, path_);
}

DatasetWriter::~DatasetWriter() {
  if (!finished_) {
    data_.reset();
    label_.reset();
    file_.reset();
    std::remove(tmp_path_.c_str());
  }
}

void DatasetWriter::append(const uint8_t* data, const int32_t* labels, int64_t rows) {
  if (rows == 0) return;
  append_rows(data_.get(), H5T_NATIVE_UINT8, data, rows_, rows, path_ + ": /data");
  append_rows(label_.get(), H5T_NATIVE_INT32, labels, rows_, rows, path_ + ": /label");
  rows_ += rows;
}

void DatasetWriter::finish() {
  const hid_t root = file_.get();
  write_string_attribute(root, "format", "shardnet-dataset");
  write_int_attribute(root, "version", 1);
  if (!info_.classes.empty()) write_string_list_attribute(root, "classes", info_.classes);
  write_string_attribute(root, "source", info_.source);
  data_.reset();
  label_.reset();
  h5_check(H5Fflush(root, H5F_SCOPE_GLOBAL), tmp_path_ + ": flush");
  file_.reset();
  std::error_code ec;
  std::filesystem::rename(tmp_path_, path_, ec);
  if (ec) throw Hdf5Error(path_ + ": cannot move the finished file into place: " + ec.message());
  finished_ = true;
}

}  // namespace shardnet::io
