#pragma once
// RAII for HDF5 identifiers and the one place where HDF5 return codes are checked. Errors become
// io::Hdf5Error (io/h5_handle.h) carrying the file and what was being done; HDF5's own stderr trace is switched off.
#include <hdf5.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "io/h5_handle.h"

namespace shardnet::io {

static_assert(std::is_same_v<::hid_t, hid_t> && std::is_same_v<::herr_t, herr_t>,
              "io/h5_handle.h declares HDF5's identifier types without hdf5.h: they must match");

// Throws Hdf5Error("<context>: <HDF5's innermost message>") when `status` < 0.
void h5_check(herr_t status, const std::string& context);
hid_t h5_check_id(hid_t id, const std::string& context);
// Silences HDF5's automatic error printing (errors are reported through exceptions instead).
void h5_quiet();

H5Id open_file(const std::string& path, bool writable);
H5Id create_file(const std::string& path);  // truncates
bool has_link(hid_t loc, const std::string& path);
H5Id open_dataset(hid_t loc, const std::string& path, const std::string& file);
std::vector<hsize_t> dataset_dims(hid_t dataset, const std::string& context);

// Attributes on an object (the file's "/" group or a data set).
void write_string_attribute(hid_t obj, const std::string& name, const std::string& value);
void write_int_attribute(hid_t obj, const std::string& name, int64_t value);
void write_string_list_attribute(hid_t obj, const std::string& name, const std::vector<std::string>& values);
void write_float_list_attribute(hid_t obj, const std::string& name, const std::vector<double>& values);  // float64
bool has_attribute(hid_t obj, const std::string& name);
std::string read_string_attribute(hid_t obj, const std::string& name, const std::string& context);
int64_t read_int_attribute(hid_t obj, const std::string& name, const std::string& context);
std::vector<std::string> read_string_list_attribute(hid_t obj, const std::string& name, const std::string& context);
std::vector<double> read_float_list_attribute(hid_t obj, const std::string& name, const std::string& context);

// A 1-d data set of variable-length UTF-8 strings (e.g. a vocabulary).
void write_string_dataset(hid_t file, const std::string& path, const std::vector<std::string>& values);
// Reads a 1-d data set of strings, variable- or fixed-length.
std::vector<std::string> read_string_dataset(hid_t file, const std::string& path, const std::string& file_name);

// Writes a whole float32 array as a new data set, creating missing groups on the way.
void write_float_dataset(hid_t file, const std::string& path, const std::vector<hsize_t>& dims, const float* data);
// Reads a whole float32 data set; checks that its dims equal `dims`.
void read_float_dataset(hid_t file, const std::string& path, const std::vector<hsize_t>& dims, float* data,
                        const std::string& file_name);

}  // namespace shardnet::io
