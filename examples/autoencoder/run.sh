#!/usr/bin/env bash
# Trains a convolutional autoencoder on MNIST and draws originals beside their reconstructions.
#   examples/autoencoder/run.sh [deconv|upsample|unpool] [extra train flags]
# Writes runs/autoencoder-<decoder>/ (metrics.csv with the test MSE per epoch, final.h5) and
# runs/autoencoder-<decoder>/pictures/reconstructions.png.
set -euo pipefail
cd "$(dirname "$0")/../.."
decoder=${1:-deconv}
shift || true
case "$decoder" in
  deconv | upsample | unpool) ;;
  *) echo "unknown decoder '$decoder' (deconv, upsample or unpool)" >&2; exit 2 ;;
esac
scripts/setup.sh build
scripts/fetch_mnist.sh data/mnist-idx
[ -f data/mnist/mnist-test.h5 ] || build/tools/shardnet convert mnist data/mnist-idx data/mnist
run=runs/autoencoder-$decoder
build/tools/shardnet train --model examples/autoencoder/"$decoder".cfg --data data/mnist/mnist-train.h5 \
  --test data/mnist/mnist-test.h5 --run-dir "$run" --overwrite --optimizer adam --lr 0.001 --batch 64 \
  --epochs 5 "$@"
build/tools/shardnet visualize --weights "$run"/final.h5 --data data/mnist/mnist-test.h5 --row 0 \
  --reconstructions 16 --out "$run"/pictures
