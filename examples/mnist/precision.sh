#!/usr/bin/env bash
# The MNIST CNN and CNN+BatchNorm trained in fp32 and with --precision bf16, seeds 1-3 each (the
# flags of examples/mnist/run.sh), and a table of their final test accuracies:
#   examples/mnist/precision.sh [models...]      (default: cnn cnn_bn)
# On a CPU without AVX512-BF16 or AMX, bf16 runs the reference path (same arithmetic, slower).
set -euo pipefail
cd "$(dirname "$0")/../.."
models=("${@:-cnn cnn_bn}")
read -r -a models <<<"${models[*]}"
scripts/setup.sh build >/dev/null
scripts/fetch_mnist.sh data/mnist-idx
[ -f data/mnist/mnist-test.h5 ] || build/tools/shardnet convert mnist data/mnist-idx data/mnist
mkdir -p runs/precision
printf "%-7s %-9s %8s %8s %8s %8s %9s\n" model precision "seed 1" "seed 2" "seed 3" mean "s/epoch"
for model in "${models[@]}"; do
  for precision in fp32 bf16; do
    accs=() seconds=()
    for seed in 1 2 3; do
      dir=runs/precision/$model-$precision-$seed
      # run.sh's flags for the model, with the seed and the precision
      RUN_DIR=$dir examples/mnist/run.sh "$model" --seed "$seed" --precision "$precision" >"$dir.log" 2>&1
      accs+=("$(tail -1 "$dir/metrics.csv" | cut -d, -f7)")
      seconds+=("$(awk -F, 'NR > 1 { s += $8; n++ } END { print s / n }' "$dir/metrics.csv")")
    done
    printf "%-7s %-9s" "$model" "$precision"
    printf " %7.2f%%" "$(awk -v a="${accs[0]}" 'BEGIN { print 100 * a }')" "$(awk -v a="${accs[1]}" 'BEGIN { print 100 * a }')" \
      "$(awk -v a="${accs[2]}" 'BEGIN { print 100 * a }')" \
      "$(awk -v a="${accs[0]}" -v b="${accs[1]}" -v c="${accs[2]}" 'BEGIN { print 100 * (a + b + c) / 3 }')"
    printf " %9.1f\n" "$(awk -v a="${seconds[0]}" -v b="${seconds[1]}" -v c="${seconds[2]}" 'BEGIN { print (a + b + c) / 3 }')"
  done
done
