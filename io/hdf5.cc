#include "io/hdf5.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace shardnet::io {
namespace {

herr_t innermost_message(unsigned n, const H5E_error2_t* err, void* out) {
  if (n == 0 && err->desc != nullptr) *static_cast<std::string*>(out) = err->desc;
  return 0;
}

std::string dims_string(const std::vector<hsize_t>& dims) {
  std::string s = "(";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + ")";
}

H5Id string_type(size_t size) {
  H5Id type(h5_check_id(H5Tcopy(H5T_C_S1), "H5Tcopy"), H5Tclose);
  h5_check(H5Tset_size(type.get(), size), "H5Tset_size");
  h5_check(H5Tset_cset(type.get(), H5T_CSET_UTF8), "H5Tset_cset");
  return type;
}

}  // namespace

void h5_quiet() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

void h5_check(herr_t status, const std::string& context) {
  if (status >= 0) return;
  std::string detail;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, innermost_message, &detail);
  H5Eclear2(H5E_DEFAULT);
  throw Hdf5Error(context + (detail.empty() ? "" : ": " + detail));
}

hid_t h5_check_id(hid_t id, const std::string& context) {
  h5_check(id < 0 ? -1 : 0, context);
  return id;
}

H5Id open_file(const std::string& path, bool writable) {
  h5_quiet();
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) throw Hdf5Error(path + ": cannot open the file (does it exist?)");
    std::fclose(f);
    throw Hdf5Error(path + ": not an HDF5 file (or it is truncated)");
  }
  return H5Id(h5_check_id(H5Fopen(path.c_str(), writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, H5P_DEFAULT),
                          path + ": cannot open as HDF5"),
              H5Fclose);
}

H5Id create_file(const std::string& path) {
  h5_quiet();
  return H5Id(
      h5_check_id(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), path + ": cannot create the file"),
      H5Fclose);
}

bool has_link(hid_t loc, const std::string& path) {
  // Check each prefix: H5Lexists fails on a path whose parent group is missing.
  size_t pos = 0;
  while (true) {
    pos = path.find('/', pos + 1);
    const std::string prefix = path.substr(0, pos);
    if (!prefix.empty() && prefix != "/") {
      const htri_t e = H5Lexists(loc, prefix.c_str(), H5P_DEFAULT);
      if (e <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return false;
      }
    }
    if (pos == std::string::npos) return true;
  }
}

H5Id open_dataset(hid_t loc, const std::string& path, const std::string& file) {
  if (!has_link(loc, path)) throw Hdf5Error(file + ": no data set '" + path + "'");
  return H5Id(h5_check_id(H5Dopen2(loc, path.c_str(), H5P_DEFAULT), file + ": cannot open data set '" + path + "'"),
              H5Dclose);
}

std::vector<hsize_t> dataset_dims(hid_t dataset, const std::string& context) {
  H5Id space(h5_check_id(H5Dget_space(dataset), context), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.get());
  h5_check(rank, context);
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  h5_check(H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr), context);
  return dims;
}

bool has_attribute(hid_t obj, const std::string& name) {
  const htri_t e = H5Aexists(obj, name.c_str());
  if (e < 0) H5Eclear2(H5E_DEFAULT);
  return e > 0;
}

void write_string_attribute(hid_t obj, const std::string& name, const std::string& value) {
  H5Id type = string_type(std::max<size_t>(value.size(), 1));
  H5Id space(h5_check_id(H5Screate(H5S_SCALAR), "H5Screate"), H5Sclose);
  H5Id attr(h5_check_id(H5Acreate2(obj, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
                        "cannot create attribute '" + name + "'"),
            H5Aclose);
  std::string padded = value;
  padded.resize(std::max<size_t>(value.size(), 1), '\0');
  h5_check(H5Awrite(attr.get(), type.get(), padded.data()), "cannot write attribute '" + name + "'");
}

void write_int_attribute(hid_t obj, const std::string& name, int64_t value) {
  H5Id space(h5_check_id(H5Screate(H5S_SCALAR), "H5Screate"), H5Sclose);
  H5Id attr(h5_check_id(H5Acreate2(obj, name.c_str(), H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT),
                        "cannot create attribute '" + name + "'"),
            H5Aclose);
  h5_check(H5Awrite(attr.get(), H5T_NATIVE_INT64, &value), "cannot write attribute '" + name + "'");
}

void write_string_list_attribute(hid_t obj, const std::string& name, const std::vector<std::string>& values) {
  H5Id type(h5_check_id(H5Tcopy(H5T_C_S1), "H5Tcopy"), H5Tclose);
  h5_check(H5Tset_size(type.get(), H5T_VARIABLE), "H5Tset_size");
  h5_check(H5Tset_cset(type.get(), H5T_CSET_UTF8), "H5Tset_cset");
  const hsize_t n = values.size();
  H5Id space(h5_check_id(H5Screate_simple(1, &n, nullptr), "H5Screate_simple"), H5Sclose);
  H5Id attr(h5_check_id(H5Acreate2(obj, name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT),
                        "cannot create attribute '" + name + "'"),
            H5Aclose);
  std::vector<const char*> ptrs;
  ptrs.reserve(values.size());
  for (const auto& v : values) ptrs.push_back(v.c_str());
  h5_check(H5Awrite(attr.get(), type.get(), ptrs.data()), "cannot write attribute '" + name + "'");
}

void write_float_list_attribute(hid_t obj, const std::string& name, const std::vector<double>& values) {
  const hsize_t n = values.size();
  H5Id space(h5_check_id(H5Screate_simple(1, &n, nullptr), "H5Screate_simple"), H5Sclose);
  H5Id attr(h5_check_id(H5Acreate2(obj, name.c_str(), H5T_IEEE_F64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT),
                        "cannot create attribute '" + name + "'"),
            H5Aclose);
  h5_check(H5Awrite(attr.get(), H5T_NATIVE_DOUBLE, values.data()), "cannot write attribute '" + name + "'");
}

std::string read_string_attribute(hid_t obj, const std::string& name, const std::string& context) {
  if (!has_attribute(obj, name)) throw Hdf5Error(context + ": no attribute '" + name + "'");
  H5Id attr(h5_check_id(H5Aopen(obj, name.c_str(), H5P_DEFAULT), context + ": attribute '" + name + "'"), H5Aclose);
  H5Id type(h5_check_id(H5Aget_type(attr.get()), context), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_STRING) throw Hdf5Error(context + ": attribute '" + name + "' is not a string");
  H5Id space(h5_check_id(H5Aget_space(attr.get()), context), H5Sclose);
  // Reading writes one string per element: more than one would overrun the single one here.
  if (const hssize_t n = H5Sget_simple_extent_npoints(space.get()); n != 1) {
    throw Hdf5Error(context + ": attribute '" + name + "' holds " + std::to_string(n) + " strings, expected one");
  }
  if (H5Tis_variable_str(type.get()) > 0) {
    H5Id mem = string_type(1);
    h5_check(H5Tset_size(mem.get(), H5T_VARIABLE), "H5Tset_size");
    h5_check(H5Tset_cset(mem.get(), H5Tget_cset(type.get())), "H5Tset_cset");
    char* value = nullptr;
    h5_check(H5Aread(attr.get(), mem.get(), &value), context + ": attribute '" + name + "'");
    std::string out = value ? value : "";
    H5free_memory(value);
    return out;
  }
  const size_t size = H5Tget_size(type.get());
  std::string out(size, '\0');
  H5Id mem = string_type(size);
  h5_check(H5Tset_cset(mem.get(), H5Tget_cset(type.get())), "H5Tset_cset");
  h5_check(H5Tset_strpad(mem.get(), H5T_STR_NULLPAD), "H5Tset_strpad");  // keep all `size` bytes
  h5_check(H5Aread(attr.get(), mem.get(), out.data()), context + ": attribute '" + name + "'");
  out.resize(strnlen(out.c_str(), size));
  return out;
}

int64_t read_int_attribute(hid_t obj, const std::string& name, const std::string& context) {
  if (!has_attribute(obj, name)) throw Hdf5Error(context + ": no attribute '" + name + "'");
  H5Id attr(h5_check_id(H5Aopen(obj, name.c_str(), H5P_DEFAULT), context + ": attribute '" + name + "'"), H5Aclose);
  H5Id type(h5_check_id(H5Aget_type(attr.get()), context), H5Tclose);
  H5Id space(h5_check_id(H5Aget_space(attr.get()), context), H5Sclose);
  // One value is read: a list would be written past it (found by tests/fuzz/checkpoint_fuzz).
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  if (H5Tget_class(type.get()) != H5T_INTEGER || n != 1) {
    throw Hdf5Error(context + ": attribute '" + name + "' is not one integer (" + std::to_string(n) + " value(s))");
  }
  int64_t value = 0;
  h5_check(H5Aread(attr.get(), H5T_NATIVE_INT64, &value), context + ": attribute '" + name + "' is not an integer");
  return value;
}

std::vector<std::string> read_string_list_attribute(hid_t obj, const std::string& name, const std::string& context) {
  H5Id attr(h5_check_id(H5Aopen(obj, name.c_str(), H5P_DEFAULT), context + ": attribute '" + name + "'"), H5Aclose);
  H5Id space(h5_check_id(H5Aget_space(attr.get()), context), H5Sclose);
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  H5Id stored(h5_check_id(H5Aget_type(attr.get()), context), H5Tclose);
  H5Id type(h5_check_id(H5Tcopy(H5T_C_S1), "H5Tcopy"), H5Tclose);
  h5_check(H5Tset_size(type.get(), H5T_VARIABLE), "H5Tset_size");
  h5_check(H5Tset_cset(type.get(), H5Tget_cset(stored.get())), "H5Tset_cset");
  if (H5Tget_class(stored.get()) != H5T_STRING) {
    throw Hdf5Error(context + ": attribute '" + name + "' is not a string list");
  }
  std::vector<std::string> out;
  if (H5Tis_variable_str(stored.get()) <= 0) {  // fixed-length strings (numpy's and h5py's `S` dtype)
    const size_t size = H5Tget_size(stored.get());
    std::vector<char> buffer(static_cast<size_t>(std::max<hssize_t>(n, 0)) * size);
    H5Id mem = string_type(size);
    h5_check(H5Tset_cset(mem.get(), H5Tget_cset(stored.get())), "H5Tset_cset");
    h5_check(H5Tset_strpad(mem.get(), H5T_STR_NULLPAD), "H5Tset_strpad");  // keep all `size` bytes
    h5_check(H5Aread(attr.get(), mem.get(), buffer.data()), context + ": attribute '" + name + "'");
    for (hssize_t i = 0; i < n; ++i) {
      const char* s = buffer.data() + static_cast<size_t>(i) * size;
      out.emplace_back(s, strnlen(s, size));  // null-padded, or exactly `size` bytes without a terminator
    }
    return out;
  }
  std::vector<char*> ptrs(static_cast<size_t>(std::max<hssize_t>(n, 0)), nullptr);
  h5_check(H5Aread(attr.get(), type.get(), ptrs.data()), context + ": attribute '" + name + "' is not a string list");
  for (char* p : ptrs) {
    out.emplace_back(p ? p : "");
    H5free_memory(p);
  }
  return out;
}

std::vector<double> read_float_list_attribute(hid_t obj, const std::string& name, const std::string& context) {
  if (!has_attribute(obj, name)) throw Hdf5Error(context + ": no attribute '" + name + "'");
  H5Id attr(h5_check_id(H5Aopen(obj, name.c_str(), H5P_DEFAULT), context + ": attribute '" + name + "'"), H5Aclose);
  H5Id space(h5_check_id(H5Aget_space(attr.get()), context), H5Sclose);
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  std::vector<double> values(static_cast<size_t>(std::max<hssize_t>(n, 0)));
  h5_check(H5Aread(attr.get(), H5T_NATIVE_DOUBLE, values.data()),
           context + ": attribute '" + name + "' is not a list of numbers");
  return values;
}

void write_string_dataset(hid_t file, const std::string& path, const std::vector<std::string>& values) {
  H5Id type(h5_check_id(H5Tcopy(H5T_C_S1), "H5Tcopy"), H5Tclose);
  h5_check(H5Tset_size(type.get(), H5T_VARIABLE), "H5Tset_size");
  h5_check(H5Tset_cset(type.get(), H5T_CSET_UTF8), "H5Tset_cset");
  const hsize_t n = values.size();
  H5Id space(h5_check_id(H5Screate_simple(1, &n, nullptr), "H5Screate_simple"), H5Sclose);
  H5Id ds(h5_check_id(H5Dcreate2(file, path.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                      "cannot create data set '" + path + "'"),
          H5Dclose);
  std::vector<const char*> ptrs;
  ptrs.reserve(values.size());
  for (const auto& v : values) ptrs.push_back(v.c_str());
  h5_check(H5Dwrite(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), "cannot write '" + path + "'");
}

std::vector<std::string> read_string_dataset(hid_t file, const std::string& path, const std::string& file_name) {
  H5Id ds = open_dataset(file, path, file_name);
  const std::string context = file_name + ": " + path;
  const auto dims = dataset_dims(ds.get(), context);
  if (dims.size() != 1) throw Hdf5Error(context + " must be a 1-d list of strings");
  H5Id stored(h5_check_id(H5Dget_type(ds.get()), context), H5Tclose);
  if (H5Tget_class(stored.get()) != H5T_STRING) throw Hdf5Error(context + " must hold strings");
  std::vector<std::string> out;
  out.reserve(dims[0]);
  if (H5Tis_variable_str(stored.get()) > 0) {
    H5Id mem = string_type(1);
    h5_check(H5Tset_size(mem.get(), H5T_VARIABLE), "H5Tset_size");
    h5_check(H5Tset_cset(mem.get(), H5Tget_cset(stored.get())), "H5Tset_cset");
    std::vector<char*> ptrs(dims[0], nullptr);
    h5_check(H5Dread(ds.get(), mem.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), context + ": cannot read");
    for (char* p : ptrs) out.emplace_back(p ? p : "");
    H5Id space(h5_check_id(H5Dget_space(ds.get()), context), H5Sclose);
    h5_check(H5Dvlen_reclaim(mem.get(), space.get(), H5P_DEFAULT, ptrs.data()), context + ": freeing strings");
    return out;
  }
  const size_t size = H5Tget_size(stored.get());
  H5Id mem = string_type(size);
  h5_check(H5Tset_cset(mem.get(), H5Tget_cset(stored.get())), "H5Tset_cset");
  std::vector<char> buffer(size * dims[0]);
  h5_check(H5Dread(ds.get(), mem.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer.data()), context + ": cannot read");
  for (hsize_t i = 0; i < dims[0]; ++i) {
    const char* s = buffer.data() + i * size;
    out.emplace_back(s, strnlen(s, size));
  }
  return out;
}

void write_float_dataset(hid_t file, const std::string& path, const std::vector<hsize_t>& dims, const float* data) {
  H5Id lcpl(h5_check_id(H5Pcreate(H5P_LINK_CREATE), "H5Pcreate"), H5Pclose);
  h5_check(H5Pset_create_intermediate_group(lcpl.get(), 1), "H5Pset_create_intermediate_group");
  H5Id space(h5_check_id(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), "H5Screate_simple"),
             H5Sclose);
  H5Id ds(h5_check_id(H5Dcreate2(file, path.c_str(), H5T_IEEE_F32LE, space.get(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT),
                      "cannot create data set '" + path + "'"),
          H5Dclose);
  h5_check(H5Dwrite(ds.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), "cannot write '" + path + "'");
}

void read_float_dataset(hid_t file, const std::string& path, const std::vector<hsize_t>& dims, float* data,
                        const std::string& file_name) {
  H5Id ds = open_dataset(file, path, file_name);
  const auto actual = dataset_dims(ds.get(), file_name + ": " + path);
  if (actual != dims) {
    throw Hdf5Error(file_name + ": '" + path + "' has shape " + dims_string(actual) + ", the model expects " +
                    dims_string(dims));
  }
  h5_check(H5Dread(ds.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data),
           file_name + ": cannot read '" + path + "'");
}

}  // namespace shardnet::io
