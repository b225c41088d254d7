#!/usr/bin/env bash
# Installs what shardnet needs on Debian 12 (idempotent: quiet when all is there) and builds it.
#   scripts/setup.sh [build-dir] [extra cmake args...]
# SHARDNET_SKIP_BUILD=1 installs only; SHARDNET_EXTRA_PACKAGES adds packages (the linters).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake pkg-config libopenmpi-dev openmpi-bin libopenblas-dev libhdf5-dev hdf5-tools
          libboost-program-options-dev libgtest-dev zlib1g-dev libjpeg62-turbo-dev libpng-dev
          iproute2 slurmctld slurmd slurm-client munge  # the multi-host and Slurm tests
          libdnnl-dev ocl-icd-opencl-dev  # oneDNN: the bf16 matrix products of --precision bf16 (its CMake package needs OpenCL)
          gnuplot-nox  # the plots of examples/ (docs/*.png)
          libonnx-dev libprotobuf-dev  # ONNX export (ONNX's protobuf classes)
          python3-onnx python3-opencv python3-h5py  # the ONNX test: onnx.checker and OpenCV's dnn as the runtime
          chromium  # the report page's browser test (headless)
          ${SHARDNET_EXTRA_PACKAGES:-})
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ "${SHARDNET_SKIP_BUILD:-0}" = 1 ] && exit 0
build=${1:-build}
shift || true
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE="${CMAKE_BUILD_TYPE:-Release}" "$@" >/dev/null
if ! cmake --build "$build" -j"$(nproc)" >"$build/build.log" 2>&1; then
  grep -E "error|Error" "$build/build.log" | head -40
  echo "setup: the build failed (full log: $build/build.log)" >&2
  exit 1
fi
echo "setup: built $build/tools/shardnet"
