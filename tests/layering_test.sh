#!/usr/bin/env bash
# The module layering, checked on every include of the tree (docs/ARCHITECTURE.md, "Modules"):
#   core   may include core only (and OpenBLAS); oneDNN's headers only in core/onednn_runtime.h (which
#          only core/bf16_matmul.cc, core/onednn_conv.cc and core/onednn_runtime.cc include)
#   io     core, io; HDF5's headers (hdf5.h, io/hdf5.h) only in io's sources, never in its public headers
#   dist   core, io, dist; mpi.h only in dist's sources
#   tools  everything but HDF5's and MPI's headers
# A violation is printed as file:line: the include, and what the rule is.
set -u
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"
status=0
violation() { echo "layering: $1: $2"; status=1; }

check() {  # files... -- allowed-prefix-regex rule
  local pattern=$1 rule=$2; shift 2
  for f in "$@"; do
    [ -f "$f" ] || continue
    while IFS= read -r hit; do
      violation "$f:${hit%%:*}" "${hit#*:} ($rule)"
    done < <(grep -nE "$pattern" "$f")
  done
}
shopt -s nullglob
check '#include "(io|dist|tools)/' "core includes only core" core/*.h core/*.cc
check '#include <(hdf5|mpi)\.h>' "core knows neither HDF5 nor MPI" core/*.h core/*.cc
check '#include <(oneapi/dnnl/)?dnnl' "oneDNN only behind core/onednn_runtime.h" \
  $(ls core/*.h core/*.cc io/*.h io/*.cc dist/*.h dist/*.cc tools/*.h tools/*.cc | grep -v '^core/onednn_runtime.h$')
check '#include "core/onednn_runtime.h"' "core/onednn_runtime.h only in oneDNN's wrappers (a private dependency)" \
  $(ls core/*.h core/*.cc io/*.h io/*.cc dist/*.h dist/*.cc tools/*.h tools/*.cc |
    grep -vE '^core/(bf16_matmul|onednn_conv|onednn_runtime)\.cc$')
check '#include "(dist|tools)/' "io includes only core and io" io/*.h io/*.cc
# io/hdf5.h wraps hdf5.h for io's sources and is not installed; every other io header is public.
check '#include (<mpi\.h>|<hdf5\.h>|"io/hdf5\.h")' "io's public headers keep HDF5 (and MPI) out" $(ls io/*.h | grep -v '^io/hdf5.h$')
check '#include "tools/' "dist does not include tools" dist/*.h dist/*.cc
check '#include (<mpi\.h>|<hdf5\.h>|"io/hdf5\.h")' "dist's headers keep MPI and HDF5 out" dist/*.h
check '#include (<hdf5\.h>|"io/hdf5\.h")' "dist uses HDF5 through io's API" dist/*.cc
check '#include (<mpi\.h>|<hdf5\.h>|"io/hdf5\.h")' "tools uses MPI and HDF5 through dist and io" tools/*.h tools/*.cc examples/cpp/*.cc
[ "$status" = 0 ] && echo "layering: ok ($(ls core/*.{h,cc} io/*.{h,cc} dist/*.{h,cc} tools/*.{h,cc} | wc -l) files)"
exit "$status"
