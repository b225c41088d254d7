#pragma once
// `shardnet inspect`: what an HDF5 file (a data set or a checkpoint) holds, as text: the file's
// attributes, then every group and data set with its type, shape, layout and attributes.
#include <string>

namespace shardnet::io {

// Throws Hdf5Error naming the file and what could not be read.
std::string list_hdf5_file(const std::string& path);

}  // namespace shardnet::io
