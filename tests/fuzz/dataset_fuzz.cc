// HDF5 data sets of hostile contents: the fuzzer's bytes drive a generator that writes a
// well-formed HDF5 file through the HDF5 API (shapes, element types, chunking, lengths, vocabulary,
// attributes), which is then opened as a data set and read. Raw bytes are not fed to libhdf5: its
// own parser is not this project's to fix; what the project does with what a file says is.
#include <hdf5.h>

#include <numeric>
#include <vector>

#include "io/dataset.h"
#include "io/hdf5.h"
#include "tests/fuzz/fuzz_input.h"

namespace {
using shardnet::fuzz::Bytes;

hid_t pick_type(Bytes& in) {
  const hid_t types[] = {H5T_NATIVE_UINT8, H5T_NATIVE_INT32,  H5T_NATIVE_FLOAT, H5T_NATIVE_DOUBLE,
                         H5T_NATIVE_INT8,  H5T_NATIVE_UINT16, H5T_NATIVE_INT64};
  return types[in.below(7)];
}

// A data set of `rank` dimensions (sizes from the bytes), of some type, written or left unwritten
// (chunked with a fill value), values from the bytes.
void write_dataset(hid_t file, const char* name, Bytes& in, hsize_t rows) {
  const int rank = 1 + static_cast<int>(in.below(4));
  std::vector<hsize_t> dims{rows};
  for (int i = 1; i < rank; ++i) dims.push_back(in.below(6));
  hsize_t n = 1;
  for (hsize_t d : dims) n *= d;
  const hid_t type = pick_type(in);
  hid_t space = H5Screate_simple(rank, dims.data(), nullptr);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  if (in.flag() && n > 0) {
    std::vector<hsize_t> chunk(dims);
    for (hsize_t& c : chunk) c = c == 0 ? 1 : c;
    chunk[0] = 1 + in.below(static_cast<uint32_t>(std::min<hsize_t>(rows, 64)));
    H5Pset_chunk(dcpl, rank, chunk.data());
  }
  hid_t ds = H5Dcreate2(file, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  if (ds >= 0 && n > 0 && n < (1 << 16) && in.flag()) {
    std::vector<double> values(n);
    for (double& v : values) v = in.flag() ? in.number() : static_cast<double>(in.below(20)) - 2;
    H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data());
  }
  if (ds >= 0) H5Dclose(ds);
  H5Pclose(dcpl);
  H5Sclose(space);
}

void write_strings(hid_t file, const char* name, Bytes& in, bool attribute) {
  const hsize_t n = in.below(6);
  std::vector<std::string> values(n);
  for (auto& v : values)
    for (uint32_t i = in.below(5); i > 0; --i) v.push_back(static_cast<char>(in.byte()));
  if (attribute) {
    shardnet::fuzz::expect_clean_errors([&] { shardnet::io::write_string_list_attribute(file, name, values); });
  } else {
    shardnet::fuzz::expect_clean_errors([&] { shardnet::io::write_string_dataset(file, name, values); });
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace shardnet::io;
  static const std::string path = shardnet::fuzz::scratch_path("dataset.h5");
  Bytes in(data, size);
  {
    H5Id file = create_file(path);
    const hsize_t rows = in.below(300);
    write_dataset(file.get(), "/data", in, rows);
    if (in.byte() % 8 != 0) write_dataset(file.get(), "/label", in, in.flag() ? rows : in.below(300));
    if (in.flag()) write_dataset(file.get(), "/length", in, in.flag() ? rows : in.below(300));
    if (in.flag()) write_strings(file.get(), "/vocab", in, false);
    if (in.flag()) write_strings(file.get(), "classes", in, true);
  }
  shardnet::fuzz::expect_clean_errors([&] {
    Dataset dataset(path, in.flag() ? 0 : Dataset::kDefaultMemoryBudget);
    dataset.description();
    shardnet::Batch batch;
    std::vector<int64_t> rows(std::min<int64_t>(dataset.size(), 1 + in.below(8)));
    for (int64_t& r : rows) r = in.below(static_cast<uint32_t>(dataset.size()));
    dataset.read(rows, batch);
  });
  return 0;
}
