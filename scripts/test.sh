#!/usr/bin/env bash
# Sets up (packages + build) and runs the whole test suite.
#   scripts/test.sh            release build in build/
#   scripts/test.sh asan       the same suite under -fsanitize=address,undefined, in build-asan/
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = asan ]; then
  CMAKE_BUILD_TYPE=RelWithDebInfo scripts/setup.sh build-asan -DSHARDNET_SANITIZE=ON -DSHARDNET_WERROR=ON
  dir=build-asan
else
  scripts/setup.sh build -DSHARDNET_WERROR=ON
  dir=build
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cd "$dir" && ctest --output-on-failure -j2
