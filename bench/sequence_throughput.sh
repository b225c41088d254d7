#!/usr/bin/env bash
# LSTM / GRU training throughput, shardnet vs PyTorch, same model, batch (64), optimizer (Adam) and
# threads, one after the other in one run:   bench/sequence_throughput.sh [steps]
#   row-by-row MNIST: LSTM 128 on 28 steps of 28 pixels (examples/sequences/mnist_rows.cfg)
#   polarity: embedding 128 + LSTM 128 on up to 60 words, masked by /length (an LSTM twin of
#   examples/sequences/polarity_gru.cfg)
# shardnet's figure is its trainer's samples/s over all steps (HDF5 reads included); PyTorch's is
# timed after 5 warm-up steps on tensors in memory (packed sequences for the lengths).
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-200}
shardnet=build/tools/shardnet
[ -x "$shardnet" ] || scripts/setup.sh build
bench/print_kernels.sh "$shardnet"
[ -f data/mnist/mnist-train.h5 ] || { scripts/fetch_mnist.sh data/mnist-idx && $shardnet convert mnist data/mnist-idx data/mnist; }
[ -f data/rt-polarity/rt-train.h5 ] || $shardnet convert text data/rt-polarity/rt ../shared/data/rt-polarity/rt-polarity.pos \
  ../shared/data/rt-polarity/rt-polarity.neg --class-names pos,neg --level word --split 0.9,0,0.1 --seed 1 \
  --min-count 2 --max-length 60
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed 's/\[gru\]/[lstm]/' examples/sequences/polarity_gru.cfg >"$work/polarity_lstm.cfg"
printf "%-12s %-8s %12s %12s %7s\n" task threads "shardnet/s" "pytorch/s" ratio
run() {  # task model data threads torch-args...
  local task=$1 model=$2 data=$3 threads=$4
  shift 4
  ours=$(OPENBLAS_NUM_THREADS=$threads $shardnet train -m "$model" -d "$data" --optimizer adam --lr 0.001 --batch 64 \
           --max-steps "$steps" --threads "$threads" --run-dir "$work/run" --overwrite |
         sed -n 's/.* \([0-9.]*\) samples\/s.*/\1/p' | tail -1)
  theirs=$(/usr/bin/python3 bench/torch_sequences.py --train "$data" --threads "$threads" --steps "$steps" --batch 64 "$@" |
           sed -n 's/.*: \([0-9.]*\) samples\/s/\1/p')
  printf "%-12s %-8s %12s %12s %7.2f\n" "$task" "$threads" "$ours" "$theirs" "$(awk -v a="$ours" -v b="$theirs" 'BEGIN { print a / b }')"
}
for threads in 1 2; do
  run mnist_rows examples/sequences/mnist_rows.cfg data/mnist/mnist-train.h5 "$threads" --cell lstm --hidden 128
  run polarity "$work/polarity_lstm.cfg" data/rt-polarity/rt-train.h5 "$threads" --cell lstm --hidden 128 --embed 128 --binary
done
