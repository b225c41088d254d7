#!/usr/bin/env bash
# Training throughput of the MNIST MLP and CNN, shardnet vs PyTorch, same batch, same optimizer
# (Adam), same thread count, in one run:   bench/mnist_throughput.sh [steps]
# shardnet's figure is its trainer's own samples/s over all steps (reading batches from HDF5
# included); PyTorch's is timed after 5 warm-up steps on in-memory tensors.
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-300}
shardnet=build/tools/shardnet
[ -x "$shardnet" ] || scripts/setup.sh build
[ -f data/mnist/mnist-train.h5 ] || { scripts/fetch_mnist.sh data/mnist-idx && $shardnet convert mnist data/mnist-idx data/mnist; }
/usr/bin/python3 -c 'import torch' 2>/dev/null || { echo "PyTorch: install python3-torch (Debian) for /usr/bin/python3" >&2; exit 1; }
printf "%-8s %-8s %14s %14s %8s\n" model threads "shardnet/s" "pytorch/s" ratio
for model in mlp cnn; do
  for threads in 1 2; do
    ours=$(OPENBLAS_NUM_THREADS=$threads $shardnet train -m examples/mnist/$model.cfg -d data/mnist/mnist-train.h5 \
             --optimizer adam --lr 0.001 --batch 64 --max-steps "$steps" --threads "$threads" --run-dir runs/bench --overwrite \
           | sed -n 's/.* \([0-9.]*\) samples\/s.*/\1/p' | tail -1)
    theirs=$(/usr/bin/python3 bench/torch_mnist.py --model $model --threads "$threads" --steps "$steps" --batch 64 \
             | sed -n 's/.*: \([0-9.]*\) samples\/s/\1/p')
    printf "%-8s %-8s %14s %14s %8.2f\n" "$model" "$threads" "$ours" "$theirs" "$(awk -v a="$ours" -v b="$theirs" 'BEGIN { print a / b }')"
  done
done
