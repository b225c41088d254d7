#!/usr/bin/python3
"""CIFAR-10 models of examples/cifar10 in PyTorch, on the same HDF5 files, for side-by-side speed and
accuracy. Needs Debian's python3-torch and python3-h5py.
    /usr/bin/python3 bench/torch_cifar.py --model small --train data/cifar10/cifar10-train.h5 --steps 100
The same augmentation as shardnet's [augment] layer: random shifts of up to 2 pixels (zero padding)
and horizontal flips per sample, done on the batch in torch. The same optimizers as
examples/cifar10/run.sh: Adam for `small`, for `fast` Nesterov SGD with frozen BatchNorm scales and
64x learning rate (1/64 weight decay) on BatchNorm biases."""
import argparse
import time

import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def build(name):
    if name == "small":
        return nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2), nn.Dropout(0.25),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2), nn.Dropout(0.25),
            nn.Flatten(), nn.Linear(4096, 512), nn.ReLU(), nn.Dropout(0.5), nn.Linear(512, 10))
    if name == "fast":  # examples/cifar10/fast.cfg
        def conv(cin, cout, size=3, dirac=True):
            c = nn.Conv2d(cin, cout, size, padding=size // 2 if size == 3 else 0, bias=False)
            if dirac:
                nn.init.dirac_(c.weight.data[:cin])
            return c

        def bn(channels):
            b = nn.BatchNorm2d(channels)
            b.weight.requires_grad = False
            return b

        def block(cin, cout):
            return [conv(cin, cout), nn.MaxPool2d(2), bn(cout), nn.GELU(),
                    conv(cout, cout), bn(cout), nn.GELU()]

        return nn.Sequential(conv(3, 24, 2, dirac=False), bn(24), nn.GELU(), *block(24, 64), *block(64, 256),
                             *block(256, 256), nn.MaxPool2d(3), nn.Flatten(), nn.Linear(256, 10, bias=False),
                             Scale(1 / 9))
    raise SystemExit(f"unknown model {name}")


class Scale(nn.Module):
    def __init__(self, factor):
        super().__init__()
        self.factor = factor

    def forward(self, x):
        return x * self.factor


def optimizer(name, net):
    if name == "fast":
        biases = [p for m in net.modules() if isinstance(m, nn.BatchNorm2d) for p in [m.bias]]
        others = [p for p in net.parameters() if p.requires_grad and all(p is not b for b in biases)]
        lr, wd = 1.304, 0.00153
        return torch.optim.SGD([dict(params=biases, lr=lr * 64, weight_decay=wd / 64),
                                dict(params=others, lr=lr, weight_decay=wd)], lr=lr, momentum=0.85, nesterov=True)
    return torch.optim.Adam(net.parameters(), lr=1e-3)


def loss_function(name):
    return nn.CrossEntropyLoss(label_smoothing=0.2 if name == "fast" else 0.0)


def augment(x, shift=2):
    n = x.shape[0]
    padded = F.pad(x, (shift, shift, shift, shift))
    out = torch.empty_like(x)
    dy = torch.randint(0, 2 * shift + 1, (n,))
    dx = torch.randint(0, 2 * shift + 1, (n,))
    flip = torch.rand(n) < 0.5
    for i in range(n):
        img = padded[i, :, dy[i]:dy[i] + x.shape[2], dx[i]:dx[i] + x.shape[3]]
        out[i] = img.flip(2) if flip[i] else img
    return out


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="small")
    p.add_argument("--train", required=True)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                   help="bf16: torch.autocast('cpu', dtype=torch.bfloat16) around the forward and loss")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    with h5py.File(args.train, "r") as f:
        rows = min(f["data"].shape[0], 16 * args.batch)
        data = torch.from_numpy(f["data"][:rows].astype(np.float32) / 255.0)
        label = torch.from_numpy(f["label"][:rows].astype(np.int64))
    net = build(args.model)
    opt = optimizer(args.model, net)
    criterion = loss_function(args.model)
    n = data.shape[0]

    def step(i):
        idx = torch.randint(0, n, (args.batch,))
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16"):
            loss = criterion(net(augment(data[idx])), label[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for i in range(3):
        step(i)
    start = time.perf_counter()
    for i in range(args.steps):
        step(i)
    print(f"torch {args.model} {args.precision} threads={args.threads} batch={args.batch}: "
          f"{args.steps * args.batch / (time.perf_counter() - start):.0f} samples/s")


if __name__ == "__main__":
    main()
