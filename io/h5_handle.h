#pragma once
// The RAII handle of HDF5 identifiers, declared without hdf5.h so that io's public headers do not
// carry HDF5 into the code that uses them (io/hdf5.h checks that these types are HDF5's own).
#include <cstdint>
#include <stdexcept>
#include <string>

namespace shardnet::io {

using hid_t = int64_t;  // HDF5 1.10 and later
using herr_t = int;

class Hdf5Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Owns one hid_t and closes it with the matching H5?close.
class H5Id {
 public:
  static constexpr hid_t kInvalid = -1;  // H5I_INVALID_HID
  using Closer = herr_t (*)(hid_t);
  H5Id() = default;
  H5Id(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  ~H5Id() { reset(); }
  H5Id(H5Id&& other) noexcept : id_(other.id_), closer_(other.closer_) { other.id_ = kInvalid; }
  H5Id& operator=(H5Id&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = other.id_;
      closer_ = other.closer_;
      other.id_ = kInvalid;
    }
    return *this;
  }
  H5Id(const H5Id&) = delete;
  H5Id& operator=(const H5Id&) = delete;

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  void reset() {
    if (id_ >= 0 && closer_ != nullptr) closer_(id_);
    id_ = kInvalid;
  }

 private:
  hid_t id_ = kInvalid;
  Closer closer_ = nullptr;
};

}  // namespace shardnet::io
