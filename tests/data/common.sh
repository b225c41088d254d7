# Sourced by the shell tests: a scratch directory that is removed (with anything still running in
# it) on exit, `fail`, `finish`, and the generated quadrant data set. Needs $1 = the shardnet binary.
shardnet=$(readlink -f "$1")
data_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=$(mktemp -d)
cleanup() { pkill -9 -f "$work" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
cd "$work"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
finish() {
  if [ "$failures" -ne 0 ]; then echo "$failures failure(s)"; exit 1; fi
  echo "all checks passed"
}

# quadrant_data N: images.idx, labels.idx and data.h5 with N 4x4 images labelled by their bright quadrant.
quadrant_data() {
  "$data_dir"/make_quadrant_idx.sh "$1" .
  "$shardnet" convert idx --images images.idx --labels labels.idx data.h5 >/dev/null || fail "convert"
}
