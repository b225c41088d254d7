#!/usr/bin/env bash
# How fast each layer learns (Nielsen, chapter 5): trains a deep sigmoid MLP and the same layers with
# ReLU + BatchNorm (SGD, lr 0.1, batch 10 as in the book, 1 epoch), logging each layer's gradient norm
# every 100 steps (--log-grad-norms), and plots both to docs/grad_norms.png (gnuplot).
#   examples/mnist/grad_norms.sh [extra train flags]
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v gnuplot >/dev/null || { echo "grad_norms: gnuplot is needed for the plot (scripts/setup.sh installs it)" >&2; exit 1; }
scripts/setup.sh build
scripts/fetch_mnist.sh data/mnist-idx
[ -f data/mnist/mnist-test.h5 ] || build/tools/shardnet convert mnist data/mnist-idx data/mnist
for model in deep_sigmoid deep_relu_bn; do
  build/tools/shardnet train --model examples/mnist/$model.cfg --data data/mnist/mnist-train.h5 \
    --test data/mnist/mnist-test.h5 --run-dir runs/mnist-$model --overwrite --optimizer sgd --lr 0.1 --batch 10 \
    --epochs 1 --log-grad-norms --log-every 100 "$@"
done
# Columns of steps.csv: step,epoch,lr,loss, then grad_norm/<layer>,weight_norm/<layer> per layer with
# parameters; the plots take the dense layers' gradient norms.
plot_dense() {
  local csv=$1
  head -1 "$csv" | tr ',' '\n' | awk -v csv="$csv" '/^grad_norm\/dense/ {
    printf "%s\"%s\" using 1:%d with lines lw 1.5 title \"%s\"", sep, csv, NR, substr($0, 11); sep = ", " }'
}
gnuplot <<GP
set terminal pngcairo size 1100,420 font ",10"
set output "docs/grad_norms.png"
set datafile separator ","
set key bottom right
set logscale y
set xlabel "step (batches of 10)"
set ylabel "L2 norm of the layer's gradient (mean of 100 steps)"
set multiplot layout 1,2
set title "4 sigmoid layers of 30 (Nielsen ch. 5)"
plot $(plot_dense runs/mnist-deep_sigmoid/steps.csv)
set title "the same with ReLU + BatchNorm"
plot $(plot_dense runs/mnist-deep_relu_bn/steps.csv)
unset multiplot
GP
echo "wrote docs/grad_norms.png"
