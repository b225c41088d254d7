# Sourced by the shell tests: a scratch directory that is removed (with anything still running in
# it) on exit, `fail`, `finish`, `expect_ok`, `expect_error`, and the generated quadrant data set. Needs $1 = the shardnet binary.
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

# expect_error NAME PATTERN COMMAND...: a non-zero exit that is not a crash, one stderr line matching PATTERN.
expect_error() {
  local name=$1 pattern=$2; shift 2
  "$@" >out.txt 2>err.txt
  local status=$?
  if [ "$status" -eq 0 ]; then fail "$name: exit status 0"; return; fi
  if [ "$status" -gt 2 ]; then fail "$name: exit status $status (a crash?)"; cat err.txt; return; fi
  if [ "$(wc -l <err.txt)" -ne 1 ]; then fail "$name: stderr is not one line:"; cat err.txt; return; fi
  if ! grep -qE -- "$pattern" err.txt; then fail "$name: stderr lacks /$pattern/: $(cat err.txt)"; return; fi
  echo "ok: $name: $(cat err.txt)"
  # For docs/RELIABILITY.md (scripts/reliability_table.sh): what was run, what it said, its status.
  if [ -n "${SHARDNET_RELIABILITY_LOG:-}" ]; then
    local command="$*"
    command=${command//$shardnet/shardnet}
    command=${command//$work\//}
    printf '%s\t%s\t%s\t%s\t%s\n' "$(basename "$0" .sh)" "$name" "$command" "$status" "$(cat err.txt)" \
      >>"$SHARDNET_RELIABILITY_LOG"
  fi
}

# expect_ok NAME COMMAND...: exit 0 (stdout in out.txt).
expect_ok() {
  local name=$1; shift
  if ! "$@" >out.txt 2>err.txt; then fail "$name: $(cat err.txt)"; return; fi
  echo "ok: $name"
}

# quadrant_data N: images.idx, labels.idx and data.h5 with N 4x4 images labelled by their bright quadrant.
quadrant_data() {
  "$data_dir"/make_quadrant_idx.sh "$1" .
  "$shardnet" convert idx --images images.idx --labels labels.idx data.h5 >/dev/null || fail "convert"
}

# identical A B WHAT: `shardnet compare` finds checkpoints A and B bitwise identical ("ok: WHAT: ...").
identical() {
  "$shardnet" compare "$1" "$2" >cmp.txt || fail "compare $1 $2"
  if grep -q "bitwise identical" cmp.txt; then echo "ok: $3: $(tail -1 cmp.txt)"; else fail "$3: $(cat cmp.txt)"; fi
}

# started_training LOG: waits (up to 30 s) until a train run's stdout LOG has its setup lines.
started_training() {
  for _ in $(seq 300); do grep -q '^BLAS:' "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}

# rank_pid PATTERN RANK: the pid of the process matching PATTERN (pgrep -f) that is MPI rank RANK.
rank_pid() {
  local p
  for p in $(pgrep -f "$1"); do
    tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2" && { echo "$p"; return 0; }
  done
  return 1
}

# conv_model: model.cfg, a small CNN for the 4x4 quadrant images (the checkpoint and multi-host tests).
conv_model() {
  cat >model.cfg <<'CFG'
[input]   shape = 1,4,4
[conv]    filters = 8  size = 3  pad = 1
[relu]
[maxpool] size = 2
[dense]   outputs = 16
[relu]
[dense]   outputs = 10
[softmax_cross_entropy]
CFG
}

# wide_mlp_model: model.cfg, an MLP on the quadrant images whose steps take milliseconds, so that a
# signal sent at a random moment lands mid-run (the stop and Slurm tests).
wide_mlp_model() {
  cat >model.cfg <<'CFG'
[input]   shape = 1,4,4
[dense]   outputs = 768
[relu]
[dense]   outputs = 768
[relu]
[dense]   outputs = 10
[softmax_cross_entropy]
CFG
}

# install_package CMAKE BUILD_DIR: `cmake --install` of BUILD_DIR into ./prefix.
install_package() {
  "$1" --install "$2" --prefix "$work/prefix" >install.log 2>&1 || { fail "cmake --install: $(tail -3 install.log)"; return 1; }
}

# build_example CMAKE SOURCE_DIR CXX NAME: configures and builds examples/NAME against ./prefix into
# ./NAME-build (out of tree, through find_package(shardnet)).
build_example() {
  "$1" -S "$2/examples/$4" -B "$4-build" -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_CXX_COMPILER="$3" \
    -DCMAKE_BUILD_TYPE=Release >"$4-configure.log" 2>&1 || { fail "configuring examples/$4: $(tail -5 "$4-configure.log")"; return 1; }
  "$1" --build "$4-build" >"$4-build.log" 2>&1 || { fail "building examples/$4: $(grep -m3 error "$4-build.log")"; return 1; }
  echo "ok: examples/$4 built against the installed package"
}
