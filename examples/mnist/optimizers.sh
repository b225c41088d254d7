#!/usr/bin/env bash
# The seven optimizers on the MNIST MLP (784-512-10): training loss against step in one plot
# (docs/optimizers.png, by gnuplot) and a table of final test accuracies (docs/optimizers.md).
#   examples/mnist/optimizers.sh [epochs]
set -euo pipefail
cd "$(dirname "$0")/../.."
epochs=${1:-3}
scripts/setup.sh build >/dev/null
scripts/fetch_mnist.sh data/mnist-idx
[ -f data/mnist/mnist-test.h5 ] || build/tools/shardnet convert mnist data/mnist-idx data/mnist
command -v gnuplot >/dev/null || { echo "optimizers: gnuplot is needed for the plot (apt-get install gnuplot-nox)" >&2; exit 1; }
# name and learning rate: each optimizer's usual rate for this kind of net
runs=("sgd 0.1" "momentum 0.02" "nesterov 0.02" "adagrad 0.02" "rmsprop 0.001" "adadelta 1.0" "adam 0.001")
table=docs/optimizers.md
{
  echo "| optimizer | lr | final training loss (last 50 steps) | test accuracy |"
  echo "|---|---|---|---|"
} >"$table"
plot=""
for run in "${runs[@]}"; do
  read -r name lr <<<"$run"
  dir=runs/optimizers/$name
  out=$(build/tools/shardnet train -m examples/mnist/mlp.cfg -d data/mnist/mnist-train.h5 -t data/mnist/mnist-test.h5 \
        --optimizer "$name" --lr "$lr" --epochs "$epochs" --log-every 50 --run-dir "$dir" --overwrite)
  acc=$(sed -n 's/^test accuracy \([0-9.]*%\).*/\1/p' <<<"$out")
  loss=$(tail -1 "$dir/steps.csv" | cut -d, -f4)
  echo "$name (lr $lr): test accuracy $acc, final training loss $loss"
  echo "| $name | $lr | $loss | $acc |" >>"$table"
  plot+="${plot:+, }'$dir/steps.csv' using 1:4 with lines lw 2 title '$name (lr $lr)'"
done
gnuplot <<GP
set terminal pngcairo size 1000,600 noenhanced
set output 'docs/optimizers.png'
set datafile separator ','
set key autotitle columnhead
set title 'MNIST MLP 784-512-10, batch 64: training loss (mean of 50 steps)'
set xlabel 'step'
set ylabel 'training loss'
set logscale y
set grid
plot $plot
GP
echo "wrote docs/optimizers.png and $table"
