#!/usr/bin/env bash
# Two hosts over TCP (network-namespace test hosts on this machine, scripts/netns_hosts.sh: a
# veth bridge of about 0.2 GB/s and 8 ms latency for small messages) against one process: the
# MNIST CNN (batch 128) and the CIFAR-10 fast model (batch 512), 2 ranks x 1 thread, with float32
# gradients and with --grad-compression bf16 and fp16. Per row: the time per step, samples/s, and
# the share of the step spent waiting for gradient sums that did not hide behind backward.
#   bench/tcp_hosts.sh [mnist steps] [cifar steps]        (as root)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
mnist_steps=${1:-60}
cifar_steps=${2:-6}
shardnet=$root/build/tools/shardnet
[ -x "$shardnet" ] || scripts/setup.sh build
[ -f data/mnist/mnist-train.h5 ] || { scripts/fetch_mnist.sh data/mnist-idx && $shardnet convert mnist data/mnist-idx data/mnist; }
source scripts/netns_hosts.sh
work=$(mktemp -d)
prefix=bn$$
trap 'delete_hosts $prefix; rm -rf "$work"' EXIT
make_hosts "$prefix" "$work" || { echo "cannot make network namespaces: $(cat "$work/ns.err")" >&2; exit 1; }
read -r -a mca <<<"$(netns_mca "$work")"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores"
# row LABEL BATCH OUTPUT: from train's "time per step X ms: ... allreduce wait Y ms (Z%)" line.
row() {
  local line ms wait
  line=$(grep '^time per step' <<<"$3")
  ms=$(sed -n 's/^time per step \([0-9.]*\) ms.*/\1/p' <<<"$line")
  wait=$(sed -n 's/.*allreduce wait [0-9.]* ms (\([0-9.]*\)%).*/\1/p' <<<"$line")
  awk -v l="$1" -v b="$2" -v ms="$ms" -v w="${wait:-0}" 'BEGIN { printf "%-42s %9.1f %10.0f %10.1f%%\n", l, ms, 1000 * b / ms, w }'
}
bench_model() {  # name model data batch steps [train flags...]
  local name=$1 model=$2 data=$3 batch=$4 steps=$5
  shift 5
  local flags=(train -m "$root/$model" -d "$root/$data" --batch "$batch" --max-steps "$steps" --threads 1 "$@")
  row "$name, 1 process" "$batch" "$("$shardnet" "${flags[@]}" --run-dir "$work/one" --overwrite 2>/dev/null)"
  for compression in none bf16 fp16; do
    row "$name, 2 hosts, gradients $compression" "$batch" "$(on_h0 "$prefix" "$shardnet" launch -n 2 \
      --host 10.88.0.11,10.88.0.12 --mca "${mca[@]}" -- "${flags[@]}" --grad-compression "$compression" \
      --run-dir "$work/two" --overwrite 2>/dev/null)"
  done
}
printf "%-42s %9s %10s %11s\n" "run" "ms/step" "samples/s" "sum wait"
bench_model "MNIST CNN, batch 128" examples/mnist/cnn.cfg data/mnist/mnist-train.h5 128 "$mnist_steps" \
  --optimizer adam --lr 0.001
if [ -f data/cifar10/cifar10-train.h5 ]; then
  bench_model "CIFAR-10 fast, batch 512" examples/cifar10/fast.cfg data/cifar10/cifar10-train.h5 512 "$cifar_steps" \
    --optimizer nesterov --lr 0.2 --momentum 0.9
else
  echo "(CIFAR-10: run examples/cifar10/run.sh first, it converts the images)"
fi
