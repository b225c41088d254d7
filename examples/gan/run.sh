#!/usr/bin/env bash
# The DCGAN of examples/gan on MNIST, on 2 ranks, built against the installed package; then the same
# GAN in PyTorch (bench/dcgan_torch.py, when /usr/bin/python3 has torch), and both scored with the
# project's trained MNIST CNN (runs/mnist-cnn/final.h5; trained by examples/mnist/run.sh cnn when
# missing): Frechet distance of its penultimate features of 10,000 samples vs the 10,000 test
# images, and the class shares. The last sample grid becomes docs/gan_samples.png.
#   examples/gan/run.sh [epochs] [ranks]
set -euo pipefail
cd "$(dirname "$0")/../.."
epochs=${1:-10}
ranks=${2:-2}
scripts/build_example.sh gan
export OPENBLAS_NUM_THREADS=1
scripts/fetch_mnist.sh data/mnist-idx
[ -f data/mnist/mnist-test.h5 ] || build/tools/shardnet convert mnist data/mnist-idx data/mnist
[ -f runs/mnist-cnn/final.h5 ] || examples/mnist/run.sh cnn
dcgan=build/examples-gan/dcgan
mpirun -np "$ranks" --oversubscribe "$dcgan" train --data data/mnist/mnist-train.h5 --out runs/gan --epochs "$epochs"
cp "runs/gan/samples-$(printf %02d "$epochs").png" docs/gan_samples.png
samples=(runs/gan/samples.h5)
if /usr/bin/python3 -c 'import torch, h5py' 2>/dev/null; then
  /usr/bin/python3 bench/dcgan_torch.py --data data/mnist/mnist-train.h5 --out runs/gan-torch --epochs "$epochs"
  samples+=(runs/gan-torch/samples.h5)
else
  echo "gan: no PyTorch for /usr/bin/python3 (python3-torch): scoring shardnet's samples alone" >&2
fi
"$dcgan" score --classifier runs/mnist-cnn/final.h5 --real data/mnist/mnist-test.h5 "${samples[@]}"
