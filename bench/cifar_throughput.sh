#!/usr/bin/env bash
# Training throughput of the CIFAR-10 fast model (examples/cifar10/fast.cfg), shardnet vs PyTorch,
# same batch, optimizer (Nesterov SGD with the BatchNorm multipliers), augmentation (shifts of 2 px and
# flips) and thread count, one after the other in one run:
#   bench/cifar_throughput.sh [steps]
# Rows: one process with 1 and with 2 threads at batch 512, and the training run's own layout,
# 2 ranks x 1 thread at a global batch of 1024, against PyTorch with 2 threads at batch 1024.
# Both sides are timed after warm-up steps: shardnet by `shardnet time --data` (reading and augmenting
# batches from HDF5 included), PyTorch on in-memory tensors.
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-6}
shardnet=build/tools/shardnet
[ -x "$shardnet" ] || scripts/setup.sh build
bench/print_kernels.sh "$shardnet"
[ -f data/cifar10/cifar10-train.h5 ] || { echo "run examples/cifar10/run.sh first (it converts the images)" >&2; exit 1; }
/usr/bin/python3 -c 'import torch, h5py' 2>/dev/null || { echo "PyTorch: install python3-torch and python3-h5py (Debian)" >&2; exit 1; }
ours_per_rank() {  # ranks threads (one rank: the plain process, no mpirun)
  local run=("$shardnet")
  [ "$1" -gt 1 ] && run=("$shardnet" launch -n "$1" --)
  "${run[@]}" time --model examples/cifar10/fast.cfg --data data/cifar10/cifar10-train.h5 \
    --optimizer nesterov --batch 512 --threads "$2" -n "$steps" --warmup 2 --reference-gemm 0 |
    sed -n 's/^step .* = \([0-9.]*\) samples\/s per rank.*/\1/p'
}
theirs() {  # threads batch
  /usr/bin/python3 bench/torch_cifar.py --model fast --train data/cifar10/cifar10-train.h5 --threads "$1" \
    --steps "$steps" --batch "$2" | sed -n 's/.*: \([0-9.]*\) samples\/s/\1/p'
}
printf "%-26s %7s %12s %12s %7s\n" layout batch "shardnet/s" "pytorch/s" ratio
row() {  # layout batch ours theirs
  printf "%-26s %7s %12s %12s %7.2f\n" "$1" "$2" "$3" "$4" "$(awk -v a="$3" -v b="$4" 'BEGIN { print a / b }')"
}
for threads in 1 2; do
  row "1 process x $threads thread(s)" 512 "$(OPENBLAS_NUM_THREADS=$threads ours_per_rank 1 "$threads")" "$(theirs "$threads" 512)"
done
# The training run's layout: 2 ranks x 1 thread, 512 per rank; PyTorch on the same 2 cores.
row "2 ranks x 1 / torch 2 thr." 1024 "$(awk -v r="$(ours_per_rank 2 1)" 'BEGIN { print 2 * r }')" "$(theirs 2 1024)"
