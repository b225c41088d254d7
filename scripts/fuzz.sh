#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, clang-14 with ASan + UBSan) in build-fuzz/ and runs each
# for FUZZ_SECONDS (default 20) on a copy of its corpus in tests/fuzz/corpus/<name>, after replaying
# the corpus itself (the regression inputs of earlier findings are there). Prints executions per
# fuzzer; a finding leaves its input in build-fuzz/findings/<name>/ and fails the script.
#   scripts/fuzz.sh [fuzzer...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-20}
SHARDNET_SKIP_BUILD=1 SHARDNET_EXTRA_PACKAGES="clang-14 libclang-rt-14-dev" scripts/setup.sh
build=build-fuzz
fuzzers=("$@")
[ ${#fuzzers[@]} -eq 0 ] && fuzzers=(model_file idx csv text image dataset checkpoint)
# Line tables only: enough for the sanitizers' reports, and a faster build than -g.
CC=clang-14 CXX=clang++-14 cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSHARDNET_FUZZ=ON \
  -DSHARDNET_BUILD_TESTS=OFF "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -gline-tables-only -DNDEBUG" >/dev/null
targets=()
for f in "${fuzzers[@]}"; do targets+=("${f}_fuzz"); done
if ! cmake --build "$build" -j"$(nproc)" --target "${targets[@]}" >"$build/build.log" 2>&1; then
  grep -E "error" "$build/build.log" | head -20
  echo "fuzz: the build failed ($build/build.log)" >&2
  exit 1
fi
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
status=0
for f in "${fuzzers[@]}"; do
  binary=$build/tests/fuzz/${f}_fuzz
  work=$build/corpus/$f findings=$build/findings/$f
  rm -rf "$work" && mkdir -p "$work" "$findings"
  cp tests/fuzz/corpus/"$f"/* "$work"/
  # Large allocations are not findings as such (a model may ask for gigabytes, given lazily as zero
  # pages): the resident set is what is limited.
  if ! "$binary" "$work" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=65536 \
      -artifact_prefix="$findings/" -print_final_stats=1 >"$build/$f.log" 2>&1; then
    echo "fuzz: $f: FINDING, input in $findings/ ($(grep -m1 -E 'ERROR|runtime error|terminate|deadly' "$build/$f.log"))"
    status=1
    continue
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$build/$f.log")
  corpus=$(ls "$work" | wc -l)
  echo "fuzz: $f: $runs runs in ${seconds} s, no finding (corpus $(ls tests/fuzz/corpus/"$f" | wc -l) seeds -> $corpus inputs)"
done
exit "$status"
