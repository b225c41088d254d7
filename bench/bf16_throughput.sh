#!/usr/bin/env bash
# bf16 against fp32, shardnet against PyTorch's CPU autocast, one after the other in one run:
#   bench/bf16_throughput.sh [steps] [models...]      models: cnn cnn_bn (MNIST, batch 64) and fast
#                                                     (the CIFAR-10 fast model, batch 128)
# Per model and thread count (1, 2): shardnet `time --precision fp32|bf16` (training steps on the data
# set, reading included) and bench/torch_{mnist,cifar}.py --precision fp32|bf16 (in-memory tensors;
# bf16 is torch.autocast("cpu", dtype=torch.bfloat16) around forward and loss, PyTorch 1.13's own).
# Prints the CPU, the BLAS kernels of both sides and shardnet's bf16 backend first: on a CPU without
# AVX512-BF16 or AMX, shardnet's bf16 is the slow reference path and the bf16 rows say nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
steps=${1:-30}
shift || true
models=("${@:-cnn cnn_bn fast}")
read -r -a models <<<"${models[*]}"
shardnet=build/tools/shardnet
[ -x "$shardnet" ] || scripts/setup.sh build
/usr/bin/python3 -c 'import torch, h5py' 2>/dev/null || { echo "PyTorch: install python3-torch and python3-h5py (Debian)" >&2; exit 1; }
bench/print_kernels.sh "$shardnet"
ours() {  # cfg data batch threads precision
  OPENBLAS_NUM_THREADS=$4 $shardnet time --model "$1" --data "$2" --optimizer adam --batch "$3" --threads "$4" \
    --precision "$5" -n "$steps" --warmup 3 --reference-gemm 0 >"$log"
  sed -n 's/^step .* = \([0-9.]*\) samples\/s per rank.*/\1/p' "$log"
}
theirs() {  # model threads precision
  if [ "$1" = fast ]; then
    /usr/bin/python3 bench/torch_cifar.py --model fast --train data/cifar10/cifar10-train.h5 --threads "$2" \
      --steps "$steps" --batch 128 --precision "$3"
  else
    /usr/bin/python3 bench/torch_mnist.py --model "$1" --threads "$2" --steps "$steps" --batch 64 --precision "$3"
  fi | sed -n 's/.*: \([0-9.]*\) samples\/s/\1/p'
}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
printf "%-7s %-7s %10s %10s %10s %10s %9s %9s %9s\n" model threads "ours fp32" "ours bf16" "torch fp32" "torch bf16" \
  "ours x" "torch x" "vs torch"
for model in "${models[@]}"; do
  if [ "$model" = fast ]; then
    cfg=examples/cifar10/fast.cfg data=data/cifar10/cifar10-train.h5 batch=128
    [ -f "$data" ] || { echo "run examples/cifar10/run.sh first (it converts the images)" >&2; exit 1; }
  else
    cfg=examples/mnist/$model.cfg data=data/mnist/mnist-train.h5 batch=64
    [ -f "$data" ] || { scripts/fetch_mnist.sh data/mnist-idx && $shardnet convert mnist data/mnist-idx data/mnist; }
  fi
  for threads in 1 2; do
    o32=$(ours "$cfg" "$data" $batch "$threads" fp32)
    o16=$(ours "$cfg" "$data" $batch "$threads" bf16)
    [ "$threads" = 1 ] && grep -o 'bf16 GEMMs by [^,]*' "$log" | head -1
    t32=$(theirs "$model" "$threads" fp32)
    t16=$(theirs "$model" "$threads" bf16)
    # ours x / torch x: each side's bf16 over its own fp32; vs torch: shardnet bf16 over PyTorch bf16.
    printf "%-7s %-7s %10s %10s %10s %10s %9s %9s %9s\n" "$model" "$threads" "$o32" "$o16" "$t32" "$t16" \
      "$(ratio "$o16" "$o32")" "$(ratio "$t16" "$t32")" "$(ratio "$o16" "$t16")"
  done
done
