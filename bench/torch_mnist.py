#!/usr/bin/python3
"""The MNIST reference models in PyTorch, trained for a fixed number of steps; prints samples/s.

Run with Debian's python3-torch: /usr/bin/python3 bench/torch_mnist.py --model cnn --threads 1
The batches are random tensors of MNIST's shape held in memory, so PyTorch pays nothing for data
loading (shardnet reads its batches from HDF5): the comparison is tilted, if at all, towards PyTorch.
"""
import argparse
import time

import torch
import torch.nn as nn


def build(model):
    if model == "softmax":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    if model == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 10))
    if model == "cnn":
        return nn.Sequential(
            nn.Conv2d(1, 32, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(3136, 512), nn.ReLU(), nn.Linear(512, 10))
    if model == "cnn_bn":
        return nn.Sequential(
            nn.Conv2d(1, 32, 5, padding=2, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 5, padding=2, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(3136, 512, bias=False), nn.BatchNorm1d(512), nn.ReLU(), nn.Linear(512, 10))
    raise SystemExit(f"unknown model {model}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", default="cnn")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--optimizer", default="adam")
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                   help="bf16: torch.autocast('cpu', dtype=torch.bfloat16) around the forward and loss")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    net = build(args.model)
    opt = (torch.optim.Adam(net.parameters(), lr=1e-3) if args.optimizer == "adam"
           else torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9))
    loss_fn = nn.CrossEntropyLoss()
    xs = [torch.rand(args.batch, 1, 28, 28) for _ in range(8)]
    ys = [torch.randint(0, 10, (args.batch,)) for _ in range(8)]
    warmup = 5

    def step(i):
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16"):
            loss = loss_fn(net(xs[i % 8]), ys[i % 8])
        loss.backward()
        opt.step()

    for i in range(warmup):
        step(i)
    start = time.perf_counter()
    for i in range(args.steps):
        step(i)
    elapsed = time.perf_counter() - start
    print(f"torch {args.model} {args.precision} threads={args.threads} batch={args.batch}: "
          f"{args.steps * args.batch / elapsed:.0f} samples/s")


if __name__ == "__main__":
    main()
