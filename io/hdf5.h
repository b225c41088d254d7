#pragma once
// RAII for HDF5 identifiers and the one place where HDF5 return codes are checked. Errors become
// io::Hdf5Error carrying the file and what was being done; HDF5's own stderr trace is switched off.
#include <hdf5.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace shardnet::io {

class Hdf5Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Owns one hid_t and closes it with the matching H5?close.
class H5Id {
 public:
  using Closer = herr_t (*)(hid_t);
  H5Id() = default;
  H5Id(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  ~H5Id() { reset(); }
  H5Id(H5Id&& other) noexcept : id_(other.id_), closer_(other.closer_) { other.id_ = H5I_INVALID_HID; }
  H5Id& operator=(H5Id&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = other.id_;
      closer_ = other.closer_;
      other.id_ = H5I_INVALID_HID;
    }
    return *this;
  }
  H5Id(const H5Id&) = delete;
  H5Id& operator=(const H5Id&) = delete;

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  void reset() {
    if (id_ >= 0 && closer_ != nullptr) closer_(id_);
    id_ = H5I_INVALID_HID;
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer closer_ = nullptr;
};

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
