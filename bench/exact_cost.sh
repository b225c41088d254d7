#!/usr/bin/env bash
# What exact mode (--exact, grains of 16) costs a training step against the normal mode: the MNIST
# CNN (batch 128) and the CIFAR-10 fast model (batch 1024), each in one process and on 2 ranks, all
# at 1 thread per rank; then the MNIST CNN on 2 ranks with grains of 32 and 64. Exact and normal runs alternate (exact, normal, exact, ...) so that drift of
# the machine's speed hits both alike; the medians of the runs' "time per step" and their ratio.
#   bench/exact_cost.sh [pairs] [mnist steps] [cifar steps]
set -euo pipefail
cd "$(dirname "$0")/.."
pairs=${1:-3}
mnist_steps=${2:-100}
cifar_steps=${3:-6}
shardnet=build/tools/shardnet
[ -x "$shardnet" ] || scripts/setup.sh build
[ -f data/mnist/mnist-train.h5 ] || { scripts/fetch_mnist.sh data/mnist-idx && $shardnet convert mnist data/mnist-idx data/mnist; }
[ -f data/cifar10/cifar10-train.h5 ] || { echo "run examples/cifar10/run.sh once to convert CIFAR-10" >&2; exit 1; }
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
step_ms() {  # ranks steps model data batch train-flags... -> the run's time per step in ms
  local ranks=$1 steps=$2 model=$3 data=$4 batch=$5; shift 5
  OPENBLAS_NUM_THREADS=1 $shardnet launch -n "$ranks" -- train -m "$model" -d "$data" --batch "$batch" \
    --max-steps "$steps" --threads 1 --run-dir runs/exact-cost --overwrite "$@" 2>/dev/null |
    sed -n 's/^time per step \([0-9.]*\) ms.*/\1/p'
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
compare() {  # name grain ranks steps model data batch train-flags...
  local name=$1 grain=$2; shift 2
  local exact=() normal=()
  for _ in $(seq "$pairs"); do
    exact+=("$(step_ms "$@" --exact-grain "$grain")")
    normal+=("$(step_ms "$@")")
  done
  awk -v n="$name" -v r="$1" -v a="$(median "${exact[@]}")" -v b="$(median "${normal[@]}")" -v e="${exact[*]}" \
    -v o="${normal[*]}" 'BEGIN { printf "%-20s %d rank(s): exact %9.2f ms, normal %9.2f ms per step: %+6.2f%%   (exact: %s; normal: %s)\n", n, r, a, b, 100 * (a / b - 1), e, o }'
}
cifar_flags=(--optimizer nesterov --momentum 0.85 --lr 0.2 --weight-decay 0.00153)
mnist() { compare "MNIST CNN G=$1" "$1" "$2" "$mnist_steps" examples/mnist/cnn.cfg data/mnist/mnist-train.h5 128 --lr 0.05 --momentum 0.9; }
for ranks in 1 2; do
  mnist 16 "$ranks"
  compare "CIFAR fast G=16" 16 "$ranks" "$cifar_steps" examples/cifar10/fast.cfg data/cifar10/cifar10-train.h5 1024 \
    "${cifar_flags[@]}"
done
# Larger grains: fewer, larger terms (batch 128 on 2 ranks: 4, 2 and 1 grain(s) per rank).
mnist 32 2
mnist 64 2
