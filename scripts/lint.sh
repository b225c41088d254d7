#!/usr/bin/env bash
# The code's habits, checked on the whole tree (CI runs this between the two test suites):
# clang-format (.clang-format) on every C++ file, clang-tidy (.clang-tidy, findings are errors) on
# every source of the build's compile database. Needs a configured build/ (scripts/test.sh makes it).
#   scripts/lint.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
SHARDNET_SKIP_BUILD=1 SHARDNET_EXTRA_PACKAGES="clang-format-14 clang-tidy-14" scripts/setup.sh
mapfile -t files < <(git ls-files '*.cc' '*.h')
if ! clang-format-14 --dry-run --Werror "${files[@]}" 2>format.log; then
  grep -E "error:" format.log | head -20
  echo "lint: clang-format: $(grep -c 'error:' format.log) line(s) differ; run clang-format-14 -i on them" >&2
  rm -f format.log
  exit 1
fi
rm -f format.log
echo "lint: clang-format: ${#files[@]} files formatted"
root=$(pwd)
if ! run-clang-tidy-14 -p "$build" -j"$(nproc)" -quiet "$root/(core|io|dist|tools|tests|examples)/" >tidy.log 2>&1; then
  sed 's/\x1b\[[0-9;]*m//g' tidy.log | grep -E "^/.*(warning|error):" | sort -u | head -40
  echo "lint: clang-tidy found problems (full log: tidy.log)" >&2
  exit 1
fi
rm -f tidy.log
echo "lint: clang-tidy: no findings"
