#include "io/inspect.h"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "io/hdf5.h"

namespace shardnet::io {
namespace {

std::string type_name(hid_t type) {
  const H5T_class_t cls = H5Tget_class(type);
  const size_t size = H5Tget_size(type);
  switch (cls) {
    case H5T_INTEGER:
      return std::string(H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int") + std::to_string(8 * size);
    case H5T_FLOAT:
      return "float" + std::to_string(8 * size);
    case H5T_STRING:
      return "string";
    default:
      return "other";
  }
}

// One attribute's value as text: strings (first line), string lists, integers, floats.
std::string attribute_text(hid_t obj, const char* name) {
  H5Id attr(H5Aopen(obj, name, H5P_DEFAULT), H5Aclose);
  H5Id type(H5Aget_type(attr.get()), H5Tclose);
  H5Id space(H5Aget_space(attr.get()), H5Sclose);
  const hssize_t n = H5Sget_simple_extent_npoints(space.get());
  const H5T_class_t cls = H5Tget_class(type.get());
  if (cls == H5T_STRING && H5Sget_simple_extent_type(space.get()) == H5S_SCALAR) {
    std::string text = read_string_attribute(obj, name, name);
    const auto newline = text.find('\n');
    if (newline != std::string::npos) {
      const size_t lines = static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
      text = "\"" + text.substr(0, newline) + "\" ... (" + std::to_string(lines) + " lines)";
    } else {
      text = "\"" + text + "\"";
    }
    return text;
  }
  if (cls == H5T_STRING) {
    std::string out = "[";
    auto list = read_string_list_attribute(obj, name, name);
    for (size_t i = 0; i < list.size(); ++i) out += (i ? ", " : "") + list[i];
    return out + "]";
  }
  if (n == 1 && cls == H5T_INTEGER) {
    int64_t v = 0;
    H5Aread(attr.get(), H5T_NATIVE_INT64, &v);
    return std::to_string(v);
  }
  if (cls == H5T_FLOAT) {
    std::vector<double> v(static_cast<size_t>(n));
    H5Aread(attr.get(), H5T_NATIVE_DOUBLE, v.data());
    std::string out = n == 1 ? "" : "[";
    for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + std::to_string(v[i]);
    return n == 1 ? out : out + "]";
  }
  std::string other = "(";  // (appended: GCC 12 warns falsely on "literal" + string temporaries)
  other.append(type_name(type.get())).append(", ").append(std::to_string(n)).append(" values)");
  return other;
}

// What the HDF5 callbacks append to; an exception inside one is kept here, not thrown through C.
struct Listing {
  std::string text;
  const char* indent = "";
  std::string error;
};

herr_t add_attribute(hid_t obj, const char* name, const H5A_info_t*, void* out) {
  auto& listing = *static_cast<Listing*>(out);
  try {
    listing.text += std::string(listing.indent) + "@" + name + " = " + attribute_text(obj, name) + "\n";
    return 0;
  } catch (const std::exception& e) {
    listing.error = e.what();
    return -1;
  }
}

void add_dataset(hid_t root, const char* name, Listing& listing) {
  H5Id ds(H5Dopen2(root, name, H5P_DEFAULT), H5Dclose);
  H5Id type(H5Dget_type(ds.get()), H5Tclose);
  const auto dims = dataset_dims(ds.get(), name);
  std::string shape = "(";
  for (size_t i = 0; i < dims.size(); ++i) shape += (i ? ", " : "") + std::to_string(dims[i]);
  shape += ")";
  H5Id dcpl(H5Dget_create_plist(ds.get()), H5Pclose);
  std::string layout;
  if (H5Pget_layout(dcpl.get()) == H5D_CHUNKED) {
    layout = "  chunked";
    for (int i = 0; i < H5Pget_nfilters(dcpl.get()); ++i) {
      unsigned flags = 0;
      size_t nelem = 0;
      if (H5Pget_filter2(dcpl.get(), static_cast<unsigned>(i), &flags, &nelem, nullptr, 0, nullptr, nullptr) ==
          H5Z_FILTER_DEFLATE) {
        layout += ", gzip";
      }
    }
  }
  char line[512];
  std::snprintf(line, sizeof line, "/%-40s %-8s %s%s\n", name, type_name(type.get()).c_str(), shape.c_str(),
                layout.c_str());
  listing.text += line;
  listing.indent = "    ";
  // The status first: the message must be built after the callbacks ran (they fill listing.error).
  const herr_t status = H5Aiterate2(ds.get(), H5_INDEX_NAME, H5_ITER_NATIVE, nullptr, add_attribute, &listing);
  h5_check(status, std::string(name) + ": attributes: " + listing.error);
}

herr_t add_object(hid_t root, const char* name, const H5O_info_t* info, void* out) {
  auto& listing = *static_cast<Listing*>(out);
  try {
    if (std::string(name) == ".") return 0;
    if (info->type == H5O_TYPE_GROUP) listing.text.append("/").append(name).append("/\n");
    if (info->type == H5O_TYPE_DATASET) add_dataset(root, name, listing);
    return 0;
  } catch (const std::exception& e) {
    listing.error = e.what();
    return -1;
  }
}

}  // namespace

std::string list_hdf5_file(const std::string& path) {
  H5Id file = open_file(path, false);
  Listing listing;
  listing.text = path + "\n";
  listing.indent = "  ";
  const herr_t attributes = H5Aiterate2(file.get(), H5_INDEX_NAME, H5_ITER_NATIVE, nullptr, add_attribute, &listing);
  h5_check(attributes, path + ": attributes: " + listing.error);
  const herr_t objects = H5Ovisit2(file.get(), H5_INDEX_NAME, H5_ITER_NATIVE, add_object, &listing, H5O_INFO_BASIC);
  h5_check(objects, path + ": listing objects: " + listing.error);
  return listing.text;
}

}  // namespace shardnet::io
