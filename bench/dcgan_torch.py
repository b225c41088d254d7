"""The DCGAN of examples/gan/dcgan.cc in PyTorch: same layers, initialisation (N(0, 0.02)), Adam
(lr 2e-4, beta1 0.5), batch, epochs and non-saturating loss, for the side-by-side comparison of
docs/RESULTS.md. Writes the same samples file (uint8 images as MNIST's, the noise as float /label)
for `dcgan score`.
  /usr/bin/python3 bench/dcgan_torch.py --data data/mnist/mnist-train.h5 --out runs/gan-torch [--epochs 5]
"""
import argparse
import os
import time

import h5py
import numpy as np
import torch
from torch import nn

NOISE = 100


def generator():
    return nn.Sequential(
        nn.Linear(NOISE, 64 * 7 * 7, bias=False), nn.Unflatten(1, (64, 7, 7)), nn.BatchNorm2d(64), nn.ReLU(),
        nn.ConvTranspose2d(64, 32, 4, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
        nn.ConvTranspose2d(32, 1, 4, 2, 1), nn.Tanh())


def discriminator():
    return nn.Sequential(
        nn.Conv2d(1, 32, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(32, 64, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 1))


def dcgan_init(module):
    if isinstance(module, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--samples", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    with h5py.File(args.data, "r") as f:
        images = torch.from_numpy(f["data"][...].astype(np.float32) / 255.0 * 2.0 - 1.0).reshape(-1, 1, 28, 28)
    g, d = generator(), discriminator()
    g.apply(dcgan_init)
    d.apply(dcgan_init)
    g_opt = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    d_opt = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    ones, zeros = torch.ones(args.batch, 1), torch.zeros(args.batch, 1)
    steps = images.shape[0] // args.batch
    os.makedirs(args.out, exist_ok=True)
    start = time.time()
    for epoch in range(args.epochs):
        order = torch.randperm(images.shape[0])
        d_sum = g_sum = 0.0
        for step in range(steps):
            real = images[order[step * args.batch:(step + 1) * args.batch]]
            fake = g(torch.randn(args.batch, NOISE))
            d_opt.zero_grad()
            d_loss = bce(d(real), ones) + bce(d(fake.detach()), zeros)
            d_loss.backward()
            d_opt.step()
            g_opt.zero_grad()
            g_loss = bce(d(fake), ones)
            g_loss.backward()
            g_opt.step()
            d_sum += d_loss.item()
            g_sum += g_loss.item()
        print(f"epoch {epoch + 1}: D loss {d_sum / steps:.3f}, G loss {g_sum / steps:.3f}, {time.time() - start:.0f} s",
              flush=True)
    g.eval()
    with torch.no_grad():
        z = torch.randn(args.samples, NOISE)
        out = torch.cat([g(z[i:i + 500]) for i in range(0, args.samples, 500)])
    pixels = torch.clamp(torch.round((out + 1.0) * 127.5), 0, 255).to(torch.uint8).numpy()
    with h5py.File(os.path.join(args.out, "samples.h5"), "w") as f:
        f["data"] = pixels
        f["label"] = z.numpy()
    print(f"wrote {args.out}/samples.h5 ({args.samples} samples)")


if __name__ == "__main__":
    main()
