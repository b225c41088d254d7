#!/usr/bin/env bash
# The installed package: `cmake --install` into a scratch prefix gives the headers (not io's private
# HDF5 wrapper), the three libraries, the shardnet binary, shardnetConfig.cmake and shardnet.pc;
# examples/cpp builds out of tree against it, through find_package and through pkg-config, and
# trains on 2 ranks through the API.
#   package_test.sh CMAKE BUILD_DIR SOURCE_DIR CXX
set -u
cmake=$1 build=$2 source=$3 cxx=$4
source "$source/tests/data/common.sh" "$build/tools/shardnet"
prefix=$work/prefix
install_package "$cmake" "$build" || finish
for f in include/shardnet/core/net.h include/shardnet/core/layer_registry.h include/shardnet/io/dataset.h \
         include/shardnet/dist/training_run.h lib/libshardnet_core.a lib/libshardnet_io.a lib/libshardnet_dist.a \
         bin/shardnet lib/cmake/shardnet/shardnetConfig.cmake lib/cmake/shardnet/shardnetConfigVersion.cmake \
         lib/pkgconfig/shardnet.pc; do
  [ -e "$prefix/$f" ] || fail "not installed: $f"
done
[ ! -e "$prefix/include/shardnet/io/hdf5.h" ] || fail "io's private HDF5 wrapper was installed"
[ ! -e "$prefix/include/shardnet/core/onednn_runtime.h" ] || fail "core's private oneDNN runtime was installed"
if grep -rlE '#include <(hdf5|mpi)\.h>' "$prefix/include" >hdr.txt; then fail "installed headers include HDF5 or MPI: $(cat hdr.txt)"; fi
echo "ok: installed $(find "$prefix" -type f | wc -l) files"

build_example "$cmake" "$source" "$cxx" cpp
quadrant_data 2000
check_run() {  # what binary
  if mpirun -np 2 --oversubscribe "$2" data.h5 3 >run.log 2>&1 && grep -q "^2 rank(s): training accuracy 100.00%" run.log; then
    echo "ok: $1: $(tail -1 run.log)"
  else
    fail "$1: $(tail -3 run.log)"
  fi
}
[ -x cpp-build/train_mlp ] && check_run "find_package(shardnet) build, 2 ranks" cpp-build/train_mlp

flags=$(PKG_CONFIG_PATH="$prefix/lib/pkgconfig" pkg-config --cflags --libs shardnet) || fail "pkg-config shardnet"
"$cxx" -std=c++20 -O1 "$source/examples/cpp/train_mlp.cc" -o train_mlp_pc $flags >pc.log 2>&1 \
  || fail "building with pkg-config: $(grep -m3 error pc.log)"
[ -x train_mlp_pc ] && check_run "pkg-config build, 2 ranks" ./train_mlp_pc
finish
