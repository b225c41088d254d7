#!/usr/bin/python3
"""airbench94 (Keller Jordan, 2024: github.com/KellerJordan/cifar10-airbench) in PyTorch on the CPU, on
shardnet's CIFAR-10 HDF5 files: the reference for what examples/cifar10's fast_whiten recipe should
reach on the same images (45,000 training, the 5,000 held-out validation ones, JPEG-decoded).
    /usr/bin/python3 bench/torch_airbench.py --train data/cifar10/cifar10-train.h5 \
        --val data/cifar10/cifar10-val.h5 --epochs 9.9 --threads 2 [--precision bf16] [--no-lookahead]
Faithful to airbench94: frozen patch-whitening stem (no BatchNorm after it; its bias trains for 3
epochs), three conv groups, BatchNorm with frozen scales, momentum 0.6 (PyTorch's 0.4) and 64x the
learning rate on its biases, summed label-smoothed loss with lr 11.5 / weight decay 0.0153 per 1024
examples, Nesterov momentum 0.85, triangular schedule (0.2 -> 1 over 23% of the steps -> 0.07),
Lookahead every 5 steps with a cubic decay schedule, alternating flips, reflect-padded 2-pixel
translations, drop_last batches of 1024. Prints the validation accuracy after every epoch, without
test-time augmentation, and at the end with airbench's mirror (level 1) and mirror+translate (level 2)."""
import argparse
import math
import time

import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def load(path):
    with h5py.File(path, "r") as f:
        images = torch.from_numpy(f["data"][:].astype(np.float32) / 255.0)
        labels = torch.from_numpy(f["label"][:].astype(np.int64))
        mean = torch.tensor(f.attrs["mean"], dtype=torch.float32).view(1, 3, 1, 1)
        std = torch.tensor(f.attrs["std"], dtype=torch.float32).view(1, 3, 1, 1)
    return images, labels, mean, std


def batch_flip(images):
    mask = (torch.rand(len(images)) < 0.5).view(-1, 1, 1, 1)
    return torch.where(mask, images.flip(-1), images)


def batch_crop(padded, size):
    r = (padded.size(-1) - size) // 2
    shifts = torch.randint(-r, r + 1, size=(len(padded), 2))
    out = torch.empty((len(padded), padded.size(1), size, size), dtype=padded.dtype)
    for sy in range(-r, r + 1):
        for sx in range(-r, r + 1):
            mask = (shifts[:, 0] == sy) & (shifts[:, 1] == sx)
            out[mask] = padded[mask, :, r + sy:r + sy + size, r + sx:r + sx + size]
    return out


class BatchNorm(nn.BatchNorm2d):
    def __init__(self, channels, momentum=0.6, eps=1e-12):
        super().__init__(channels, eps=eps, momentum=1 - momentum)
        self.weight.requires_grad = False


class Conv(nn.Conv2d):
    def __init__(self, cin, cout, size=3, padding="same", bias=False):
        super().__init__(cin, cout, kernel_size=size, padding=padding, bias=bias)

    def reset_parameters(self):
        super().reset_parameters()
        if self.bias is not None:
            self.bias.data.zero_()
        w = self.weight.data
        nn.init.dirac_(w[:w.size(1)])


class ConvGroup(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv1, self.pool, self.norm1 = Conv(cin, cout), nn.MaxPool2d(2), BatchNorm(cout)
        self.conv2, self.norm2, self.activ = Conv(cout, cout), BatchNorm(cout), nn.GELU()

    def forward(self, x):
        x = self.activ(self.norm1(self.pool(self.conv1(x))))
        return self.activ(self.norm2(self.conv2(x)))


class Mul(nn.Module):
    def __init__(self, factor):
        super().__init__()
        self.factor = factor

    def forward(self, x):
        return x * self.factor


def make_net():
    net = nn.Sequential(Conv(3, 24, 2, padding=0, bias=True), nn.GELU(), ConvGroup(24, 64), ConvGroup(64, 256),
                        ConvGroup(256, 256), nn.MaxPool2d(3), nn.Flatten(), nn.Linear(256, 10, bias=False),
                        Mul(1 / 9))
    net[0].weight.requires_grad = False
    return net


def init_whitening_conv(layer, images, eps=5e-4):
    c, (h, w) = images.shape[1], layer.weight.shape[2:]
    patches = images.unfold(2, h, 1).unfold(3, w, 1).transpose(1, 3).reshape(-1, c, h, w).double()
    flat = patches.view(len(patches), -1)
    eigenvalues, eigenvectors = torch.linalg.eigh(flat.T @ flat / len(flat), UPLO="U")
    eigenvalues = eigenvalues.flip(0).view(-1, 1, 1, 1)
    eigenvectors = eigenvectors.T.reshape(c * h * w, c, h, w).flip(0)
    scaled = (eigenvectors / torch.sqrt(eigenvalues + eps)).float()
    layer.weight.data[:] = torch.cat((scaled, -scaled))


class LookaheadState:
    def __init__(self, net):
        self.ema = {k: v.clone() for k, v in net.state_dict().items()}

    def update(self, net, decay):
        for ema, current in zip(self.ema.values(), net.state_dict().values()):
            if current.dtype == torch.float:
                ema.lerp_(current, 1 - decay)
                current.copy_(ema)


def infer(net, images, tta_level, autocast):
    net.eval()
    outputs = []
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        for batch in images.split(1000):
            logits = net(batch).float()
            if tta_level >= 1:
                logits = 0.5 * logits + 0.5 * net(batch.flip(-1)).float()
            if tta_level >= 2:
                padded = F.pad(batch, (1,) * 4, "reflect")
                up_left, down_right = padded[:, :, 0:32, 0:32], padded[:, :, 2:34, 2:34]
                shifted = 0.5 * net(up_left).float() + 0.5 * net(down_right).float()
                shifted_flipped = 0.5 * net(up_left.flip(-1)).float() + 0.5 * net(down_right.flip(-1)).float()
                logits = 0.5 * logits + 0.25 * shifted + 0.25 * shifted_flipped
            outputs.append(logits)
    net.train()
    return torch.cat(outputs)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--train", required=True)
    p.add_argument("--val", required=True)
    p.add_argument("--epochs", type=float, default=9.9)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    p.add_argument("--no-lookahead", action="store_true")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    autocast = args.precision == "bf16"

    images, labels, mean, std = load(args.train)
    val_images, val_labels, _, _ = load(args.val)
    images, val_images = (images - mean) / std, (val_images - mean) / std
    flipped = batch_flip(images)
    padded = F.pad(flipped, (2,) * 4, "reflect")

    batch, momentum = 1024, 0.85
    kilostep_scale = 1024 * (1 + 1 / (1 - momentum))
    lr, wd = 11.5 / kilostep_scale, 0.0153 * batch / kilostep_scale
    lr_biases = lr * 64
    steps_per_epoch = len(images) // batch
    total_steps = math.ceil(steps_per_epoch * args.epochs)

    net = make_net()
    norm_biases = [p for k, p in net.named_parameters() if "norm" in k and p.requires_grad]
    others = [p for k, p in net.named_parameters() if "norm" not in k and p.requires_grad]
    opt = torch.optim.SGD([dict(params=norm_biases, lr=lr_biases, weight_decay=wd / lr_biases),
                           dict(params=others, lr=lr, weight_decay=wd / lr)], momentum=momentum, nesterov=True)

    def triangle(step):
        warmup = int(total_steps * 0.23)
        if step < warmup:
            return 0.2 + 0.8 * step / warmup
        return 1.0 + (0.07 - 1.0) * (step - warmup) / (total_steps - warmup)

    scheduler = torch.optim.lr_scheduler.LambdaLR(opt, triangle)
    alpha = 0.95**5 * (torch.arange(total_steps + 1) / total_steps)**3
    lookahead = None if args.no_lookahead else LookaheadState(net)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=0.2, reduction="none")
    init_whitening_conv(net[0], images[:5000])

    step, start = 0, time.perf_counter()
    for epoch in range(math.ceil(args.epochs)):
        net[0].bias.requires_grad = epoch < 3
        epoch_images = batch_crop(padded, 32)
        if epoch % 2 == 1:
            epoch_images = epoch_images.flip(-1)
        order = torch.randperm(len(images))
        for i in range(steps_per_epoch):
            idx = order[i * batch:(i + 1) * batch]
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
                loss = loss_fn(net(epoch_images[idx]).float(), labels[idx]).sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            scheduler.step()
            step += 1
            if lookahead is not None and step % 5 == 0:
                lookahead.update(net, decay=alpha[step].item())
            if step >= total_steps:
                if lookahead is not None:
                    lookahead.update(net, decay=1.0)
                break
        accuracy = (infer(net, val_images, 0, autocast).argmax(1) == val_labels).float().mean().item()
        print(f"epoch {epoch + 1}: val {100 * accuracy:.2f}%  ({time.perf_counter() - start:.0f} s)", flush=True)
    for level in (1, 2):
        accuracy = (infer(net, val_images, level, autocast).argmax(1) == val_labels).float().mean().item()
        print(f"tta level {level}: val {100 * accuracy:.2f}%")


if __name__ == "__main__":
    main()
