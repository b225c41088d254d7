#!/usr/bin/env bash
# What the stall inspector costs a training step: the MNIST CNN on 2 ranks x 1 thread (batch 128),
# with the inspector at its defaults and with it off (--stall-warning 0 --stall-timeout 0), run in
# turn (on, off, on, off, ...) so that drift of the machine's speed hits both alike; the medians of
# the runs' "time per step" and their ratio.
#   bench/stall_inspector_cost.sh [steps] [pairs]
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-150}
pairs=${2:-5}
shardnet=build/tools/shardnet
[ -x "$shardnet" ] || scripts/setup.sh build
[ -f data/mnist/mnist-train.h5 ] || { scripts/fetch_mnist.sh data/mnist-idx && $shardnet convert mnist data/mnist-idx data/mnist; }
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
step_ms() {  # train flags... -> the run's time per step in ms
  OPENBLAS_NUM_THREADS=1 $shardnet launch -n 2 -- train -m examples/mnist/cnn.cfg -d data/mnist/mnist-train.h5 \
    --batch 128 --max-steps "$steps" --threads 1 --run-dir runs/stall-cost --overwrite "$@" 2>/dev/null |
    sed -n 's/^time per step \([0-9.]*\) ms.*/\1/p'
}
on=() off=()
for _ in $(seq "$pairs"); do
  on+=("$(step_ms)")
  off+=("$(step_ms --stall-warning 0 --stall-timeout 0)")
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "time per step, inspector on  (ms): ${on[*]}"
echo "time per step, inspector off (ms): ${off[*]}"
awk -v a="$(median "${on[@]}")" -v b="$(median "${off[@]}")" \
  'BEGIN { printf "median on %.2f ms, off %.2f ms: on/off = %.4f (%+.2f%%)\n", a, b, a / b, 100 * (a / b - 1) }'
