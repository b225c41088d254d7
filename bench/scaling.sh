#!/usr/bin/env bash
# Data-parallel scaling of the MNIST CNN on this machine: 1 rank x 1 thread vs 2 ranks x 1 thread,
# batch 64 per rank (global 64 vs 128), and the time each rank spent in allreduce per step.
#   bench/scaling.sh [steps] [model]
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-200}
model=${2:-cnn}
shardnet=build/tools/shardnet
[ -x "$shardnet" ] || scripts/setup.sh build
[ -f data/mnist/mnist-train.h5 ] || { scripts/fetch_mnist.sh data/mnist-idx && $shardnet convert mnist data/mnist-idx data/mnist; }
run() {  # ranks global_batch
  OPENBLAS_NUM_THREADS=1 $shardnet launch -n "$1" -- train -m examples/mnist/$model.cfg -d data/mnist/mnist-train.h5 \
    --optimizer adam --lr 0.001 --batch "$2" --max-steps "$steps" --threads 1 --run-dir runs/scaling-$1 --overwrite 2>/dev/null
}
one=$(run 1 64)
two=$(run 2 128)
rate() { sed -n 's/.* \([0-9.]*\) samples\/s.*/\1/p' <<<"$1" | tail -1; }
r1=$(rate "$one")
r2=$(rate "$two")
printf "%-22s %12s\n" "configuration" "samples/s"
printf "%-22s %12s\n" "1 rank x 1 thread" "$r1"
printf "%-22s %12s\n" "2 ranks x 1 thread" "$r2"
awk -v a="$r2" -v b="$r1" 'BEGIN { printf "speed-up               %12.2f\n", a / b }'
grep '^allreduce' <<<"$two"
