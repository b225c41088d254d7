#include "io/idx.h"

#include <zlib.h>

#include <algorithm>
#include <memory>

#include "io/dataset_writer.h"

namespace shardnet::io {
namespace {

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<gzFile_s, GzCloser>;

// Reads up to n bytes; returns how many were read.
int64_t read_bytes(gzFile f, uint8_t* out, int64_t n, const std::string& path) {
  int64_t done = 0;
  while (done < n) {
    const unsigned ask = static_cast<unsigned>(std::min<int64_t>(n - done, 1 << 30));
    const int got = gzread(f, out + done, ask);
    if (got < 0) {
      int err = 0;
      throw IdxError(path + ": cannot decompress: " + gzerror(f, &err));
    }
    if (got == 0) break;
    done += got;
  }
  return done;
}

constexpr int64_t kMaxIdxBytes = int64_t{1} << 40;

}  // namespace

IdxArray read_idx(const std::string& path, int expected_dims) {
  // gzread reads plain files as they are, so .gz and raw IDX take the same path.
  GzFile f(gzopen(path.c_str(), "rb"));
  if (!f) throw IdxError(path + ": cannot open the file");
  uint8_t header[4];
  if (read_bytes(f.get(), header, 4, path) != 4) throw IdxError(path + ": truncated: no IDX header");
  if (header[0] != 0 || header[1] != 0) throw IdxError(path + ": bad magic number: not an IDX file");
  if (header[2] != 0x08) {
    throw IdxError(path + ": IDX element type 0x" + std::to_string(header[2]) + " is not unsigned byte (0x08)");
  }
  if (header[3] != expected_dims) {
    throw IdxError(path + ": has " + std::to_string(header[3]) + " dimensions, expected " +
                   std::to_string(expected_dims) + (expected_dims == 1 ? " (a label file)" : " (an image file)"));
  }
  IdxArray array;
  int64_t total = 1;
  for (int i = 0; i < expected_dims; ++i) {
    uint8_t b[4];
    if (read_bytes(f.get(), b, 4, path) != 4) throw IdxError(path + ": truncated inside the IDX header");
    const int64_t d = (int64_t{b[0]} << 24) | (int64_t{b[1]} << 16) | (int64_t{b[2]} << 8) | b[3];
    array.dims.push_back(d);
    if (d != 0 && total > kMaxIdxBytes / d) throw IdxError(path + ": implausible IDX dimensions (over 2^40 bytes)");
    total *= d;
  }
  // Read in blocks that double (from 1 MiB), the buffer growing with what the file really holds: a
  // header that promises more than the file has costs at most twice the file (and 1 MiB).
  int64_t got = 0;
  while (got < total) {
    const int64_t ask = std::min(std::max(got, int64_t{1} << 20), total - got);
    array.values.resize(static_cast<size_t>(got + ask));
    const int64_t n = read_bytes(f.get(), array.values.data() + got, ask, path);
    got += n;
    if (n < ask) break;
  }
  array.values.resize(static_cast<size_t>(got));
  if (got != total) {
    throw IdxError(path + ": truncated: the header promises " + std::to_string(total) + " bytes of data, found " +
                   std::to_string(got));
  }
  uint8_t extra;
  if (read_bytes(f.get(), &extra, 1, path) != 0) {
    throw IdxError(path + ": has bytes after the " + std::to_string(total) + " its header describes");
  }
  return array;
}

MnistConversion convert_idx_pair(const std::string& images_path, const std::string& labels_path,
                                 const std::string& out_path, int gzip_level) {
  const IdxArray images = read_idx(images_path, 3);
  const IdxArray labels = read_idx(labels_path, 1);
  if (images.dims[0] != labels.dims[0]) {
    throw IdxError(labels_path + ": has " + std::to_string(labels.dims[0]) + " labels but " + images_path + " has " +
                   std::to_string(images.dims[0]) + " images");
  }
  constexpr int kClasses = 10;
  std::vector<int32_t> ids(labels.values.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    if (labels.values[i] >= kClasses) {
      throw IdxError(labels_path + ": label " + std::to_string(labels.values[i]) + " at index " + std::to_string(i) +
                     " is out of range (0-9)");
    }
    ids[i] = labels.values[i];
  }
  DatasetInfo info;
  info.sample_shape = {1, images.dims[1], images.dims[2]};
  for (int c = 0; c < kClasses; ++c) info.classes.push_back(std::to_string(c));
  info.source = "IDX: " + images_path + ", " + labels_path;
  info.gzip_level = gzip_level;
  DatasetWriter writer(out_path, info);
  writer.append(images.values.data(), ids.data(), images.dims[0]);
  writer.finish();
  return MnistConversion{images.dims[0], images.dims[1], images.dims[2]};
}

}  // namespace shardnet::io
