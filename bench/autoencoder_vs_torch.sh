#!/usr/bin/env bash
# The MNIST autoencoders (examples/autoencoder/*.cfg) in shardnet and in PyTorch (bench/torch_autoencoder.py),
# same data, optimizer, batch and epochs, at 1 thread: the test reconstruction MSE of each, per seed.
#   bench/autoencoder_vs_torch.sh [epochs] [seeds...]      (default: 5 epochs, seeds 1 2)
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=${1:-5}
shift || true
seeds=("${@:-1 2}")
read -r -a seeds <<<"${seeds[*]}"
shardnet=build/tools/shardnet
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'); $epochs epochs, Adam lr 1e-3, batch 64, 1 thread"
printf '%-9s %5s %14s %14s %8s\n' decoder seed shardnet_mse pytorch_mse ratio
for decoder in deconv upsample unpool; do
  for seed in "${seeds[@]}"; do
    run=runs/bench/autoencoder-$decoder-$seed
    "$shardnet" train --model examples/autoencoder/$decoder.cfg --data data/mnist/mnist-train.h5 \
      --test data/mnist/mnist-test.h5 --run-dir "$run" --overwrite --optimizer adam --lr 0.001 --batch 64 \
      --epochs "$epochs" --seed "$seed" --threads 1 >"$run.log" 2>&1 || { cat "$run.log"; exit 1; }
    ours=$(sed -n 's/^test loss \([0-9.]*\).*/\1/p' "$run.log")
    theirs=$(/usr/bin/python3 bench/torch_autoencoder.py --decoder $decoder --epochs "$epochs" --seed "$seed" \
      --threads 1 | sed -n "s/^epoch $epochs\/$epochs .*test mse \([0-9.]*\).*/\1/p")
    printf '%-9s %5s %14s %14s %8.3f\n' $decoder $seed "$ours" "$theirs" "$(echo "$ours / $theirs" | bc -l)"
  done
done
