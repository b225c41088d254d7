#!/usr/bin/env bash
# Trains one of the MNIST reference models from scratch: sets up, fetches and converts MNIST, trains,
# and prints the test accuracy.   examples/mnist/run.sh [softmax|mlp|cnn|cnn_bn|best] [extra train flags]
# The run directory is runs/mnist-MODEL, or $RUN_DIR.
set -euo pipefail
cd "$(dirname "$0")/../.."
model=${1:-cnn}
shift || true
scripts/setup.sh build
scripts/fetch_mnist.sh data/mnist-idx
[ -f data/mnist/mnist-test.h5 ] || build/tools/shardnet convert mnist data/mnist-idx data/mnist
case "$model" in
  softmax) flags=(--optimizer sgd --lr 0.1 --epochs 10) ;;
  mlp)     flags=(--optimizer sgd --momentum 0.9 --lr 0.05 --weight-decay 5e-4 --epochs 15
                  --lr-schedule step --lr-step 5 --lr-gamma 0.2) ;;
  cnn)     flags=(--optimizer adam --lr 0.001 --epochs 5 --lr-schedule step --lr-step 2 --lr-gamma 0.2) ;;
  cnn_bn)  flags=(--optimizer adam --lr 0.002 --epochs 8 --lr-schedule cosine --warmup-epochs 0.5) ;;
  best)    flags=(--optimizer adam --lr 0.002 --epochs 20 --lr-schedule cosine --warmup-epochs 1) ;;
  *) echo "unknown model '$model' (softmax, mlp, cnn, cnn_bn or best)" >&2; exit 2 ;;
esac
build/tools/shardnet train --model examples/mnist/"$model".cfg --data data/mnist/mnist-train.h5 \
  --test data/mnist/mnist-test.h5 --run-dir "${RUN_DIR:-runs/mnist-$model}" --overwrite "${flags[@]}" "$@"
