#!/usr/bin/env bash
# Installs shardnet from build/ into build/prefix and builds examples/NAME against that installed
# package (find_package(shardnet)) into build/examples-NAME, as a user's own project would.
#   scripts/build_example.sh NAME
set -euo pipefail
cd "$(dirname "$0")/.."
name=$1
scripts/setup.sh build >/dev/null
cmake --install build --prefix build/prefix >/dev/null
cmake -S "examples/$name" -B "build/examples-$name" -DCMAKE_PREFIX_PATH="$PWD/build/prefix" >/dev/null
cmake --build "build/examples-$name" >/dev/null
