#!/usr/bin/env bash
# Data-parallel scaling of the MNIST CNN on this machine: 1 rank x 1 thread vs 2 ranks x 1 thread,
# batch 64 per rank (global 64 vs 128), with a timeline of the 2-rank run summarised (allreduce wait
# share, overlap of each bucket with backward), then the 2-rank rate for several bucket sizes.
#   bench/scaling.sh [steps] [model]
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-200}
model=${2:-cnn}
shardnet=build/tools/shardnet
[ -x "$shardnet" ] || scripts/setup.sh build
bench/print_kernels.sh "$shardnet"
[ -f data/mnist/mnist-train.h5 ] || { scripts/fetch_mnist.sh data/mnist-idx && $shardnet convert mnist data/mnist-idx data/mnist; }
run() {  # ranks global_batch [train flags...]
  local ranks=$1 batch=$2
  shift 2
  OPENBLAS_NUM_THREADS=1 $shardnet launch -n "$ranks" -- train -m examples/mnist/$model.cfg -d data/mnist/mnist-train.h5 \
    --optimizer adam --lr 0.001 --batch "$batch" --max-steps "$steps" --threads 1 --run-dir runs/scaling-$ranks \
    --overwrite "$@" 2>/dev/null
}
rate() { sed -n 's/.* \([0-9.]*\) samples\/s.*/\1/p' <<<"$1" | tail -1; }
one=$(run 1 64)
two=$(run 2 128 --timeline runs/scaling-2/timeline.json)
r1=$(rate "$one")
r2=$(rate "$two")
printf "%-22s %12s\n" "configuration" "samples/s"
printf "%-22s %12s\n" "1 rank x 1 thread" "$r1"
printf "%-22s %12s\n" "2 ranks x 1 thread" "$r2"
awk -v a="$r2" -v b="$r1" 'BEGIN { printf "speed-up               %12.2f\n", a / b }'
grep -E '^(time per step|gradients)' <<<"$two"
python3 bench/timeline_summary.py runs/scaling-2/timeline.json
echo
printf "%-12s %12s %s\n" "bucket MiB" "samples/s" "time per step (rank 0)"
for mb in 0.01 1 4 16; do
  out=$(run 2 128 --bucket-mb "$mb")
  printf "%-12s %12s %s\n" "$mb" "$(rate "$out")" "$(grep '^time per step' <<<"$out" | cut -d: -f1 | sed 's/time per step //')"
done
