#!/usr/bin/python3
"""The MNIST autoencoders of examples/autoencoder/ in PyTorch: same data, same steps, same optimizer.

Run with Debian's python3-torch:
  /usr/bin/python3 bench/torch_autoencoder.py --decoder deconv --epochs 5 --threads 1
Reads shardnet's own HDF5 files (data/mnist/mnist-{train,test}.h5, uint8 pixels scaled to [0, 1]),
initialises as shardnet's models do (He normal weights, std sqrt(2 / fan_in), and zero biases; a
transposed convolution's fan in is its output channels x k x k in both), trains with Adam (lr 1e-3,
batch 64, a new shuffle each epoch) and prints the test reconstruction MSE (the mean over pixels
and images, as shardnet's [mse] target = input) after every epoch.
"""
import argparse
import time

import h5py
import numpy as np
import torch
import torch.nn as nn


def encoder():
    return [nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]


class Unpooling(nn.Module):
    """examples/autoencoder/unpool.cfg: unpool at the encoder's argmax positions."""

    def __init__(self):
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(1, 16, 3, padding=1), nn.Conv2d(16, 8, 3, padding=1)
        self.pool = nn.MaxPool2d(2, return_indices=True)
        self.unpool = nn.MaxUnpool2d(2)
        self.d1, self.d2 = nn.Conv2d(8, 16, 3, padding=1), nn.Conv2d(16, 1, 3, padding=1)

    def forward(self, x):
        x, i1 = self.pool(torch.relu(self.c1(x)))
        x, i2 = self.pool(torch.relu(self.c2(x)))
        x = torch.relu(self.d1(self.unpool(x, i2)))
        return torch.sigmoid(self.d2(self.unpool(x, i1)))


def build(decoder):
    if decoder == "deconv":
        return nn.Sequential(*encoder(), nn.ConvTranspose2d(8, 16, 2, stride=2), nn.ReLU(),
                             nn.ConvTranspose2d(16, 1, 2, stride=2), nn.Sigmoid())
    if decoder == "upsample":
        return nn.Sequential(*encoder(), nn.Upsample(scale_factor=2), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(),
                             nn.Upsample(scale_factor=2), nn.Conv2d(16, 1, 3, padding=1), nn.Sigmoid())
    if decoder == "unpool":
        return Unpooling()
    raise SystemExit(f"unknown decoder {decoder}")


def initialize(net):
    """shardnet's init = he (its default) and zero biases."""
    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            nn.init.zeros_(m.bias)


def load(path):
    with h5py.File(path) as f:
        return torch.from_numpy(f["data"][:].astype(np.float32) / 255.0)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--decoder", default="deconv")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--data", default="data/mnist")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    train, test = load(f"{args.data}/mnist-train.h5"), load(f"{args.data}/mnist-test.h5")
    net = build(args.decoder)
    initialize(net)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    loss_fn = nn.MSELoss()
    steps = len(train) // args.batch  # shardnet's epochs: whole batches only
    print(f"pytorch {torch.__version__}, decoder {args.decoder}, {steps} steps per epoch, batch {args.batch}")
    for epoch in range(1, args.epochs + 1):
        start, total = time.time(), 0.0
        order = torch.randperm(len(train))
        net.train()
        for s in range(steps):
            x = train[order[s * args.batch:(s + 1) * args.batch]]
            opt.zero_grad()
            loss = loss_fn(net(x), x)
            loss.backward()
            opt.step()
            total += loss.item()
        net.eval()
        with torch.no_grad():
            mse = sum(((net(test[i:i + 500]) - test[i:i + 500]) ** 2).mean(dim=(1, 2, 3)).sum().item()
                      for i in range(0, len(test), 500)) / len(test)
        print(f"epoch {epoch}/{args.epochs}  loss {total / steps:.6f}  test mse {mse:.6f}  "
              f"{steps * args.batch / (time.time() - start):.0f} samples/s")


if __name__ == "__main__":
    main()
