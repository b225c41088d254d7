#!/usr/bin/env bash
# Training throughput and peak memory of the MNIST MLP, CNN and CNN + BatchNorm, shardnet vs PyTorch,
# same batch (64), same optimizer (Adam), same thread count, one after the other in one run:
#   bench/mnist_throughput.sh [steps] [models...]
# shardnet's figure is its trainer's own samples/s over all steps (reading batches from HDF5
# included); PyTorch's is timed after 5 warm-up steps on in-memory tensors. Peak RSS is the whole
# process's (GNU time), PyTorch's including the interpreter and torch itself.
# Ends with `shardnet time` on the CNN: the GEMM rate inside the conv layers vs a large sgemm.
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-300}
shift || true
models=("${@:-mlp cnn cnn_bn}")
read -r -a models <<<"${models[*]}"
shardnet=build/tools/shardnet
[ -x "$shardnet" ] || scripts/setup.sh build
[ -f data/mnist/mnist-train.h5 ] || { scripts/fetch_mnist.sh data/mnist-idx && $shardnet convert mnist data/mnist-idx data/mnist; }
/usr/bin/python3 -c 'import torch' 2>/dev/null || { echo "PyTorch: install python3-torch (Debian) for /usr/bin/python3" >&2; exit 1; }
bench/print_kernels.sh "$shardnet"
rss=$(mktemp)
trap 'rm -f "$rss"' EXIT
printf "%-8s %-8s %12s %12s %7s %14s %14s\n" model threads "shardnet/s" "pytorch/s" ratio "shardnet MiB" "pytorch MiB"
for model in "${models[@]}"; do
  for threads in 1 2; do
    ours=$(OPENBLAS_NUM_THREADS=$threads /usr/bin/time -f %M -o "$rss" $shardnet train -m examples/mnist/$model.cfg \
             -d data/mnist/mnist-train.h5 --optimizer adam --lr 0.001 --batch 64 --max-steps "$steps" \
             --threads "$threads" --run-dir runs/bench --overwrite | sed -n 's/.* \([0-9.]*\) samples\/s.*/\1/p' | tail -1)
    our_rss=$(($(cat "$rss") / 1024))
    theirs=$(/usr/bin/time -f %M -o "$rss" /usr/bin/python3 bench/torch_mnist.py --model $model --threads "$threads" \
             --steps "$steps" --batch 64 | sed -n 's/.*: \([0-9.]*\) samples\/s/\1/p')
    their_rss=$(($(cat "$rss") / 1024))
    printf "%-8s %-8s %12s %12s %7.2f %14s %14s\n" "$model" "$threads" "$ours" "$theirs" \
      "$(awk -v a="$ours" -v b="$theirs" 'BEGIN { print a / b }')" "$our_rss" "$their_rss"
  done
done
echo
OPENBLAS_NUM_THREADS=1 $shardnet time -m examples/mnist/cnn.cfg -d data/mnist/mnist-train.h5 --threads 1 -n 50 | grep -E '^(step|shares|sgemm)'
