#!/usr/bin/python3
"""Skip-gram with negative sampling in PyTorch on the pairs `shardnet convert skipgram` wrote.

The same model and training as examples/word2vec/polarity.cfg with `train --optimizer adam`:
input vectors uniform in +-0.5/dim and output vectors zero (word2vec.c), K noise words per pair
from the unigram^0.75 distribution of the file's /counts, loss = sum over the 1 + K logits of
binary cross-entropy (context 1, noise 0), the mean over the batch; a new shuffle each epoch.
Prints the mean training loss of every --log-every steps (step,epoch,loss) and of every epoch.
  /usr/bin/python3 bench/torch_sgns.py data/polarity-skipgram.h5 --epochs 5 --log-every 50
"""
import argparse
import time

import h5py
import numpy as np
import torch
import torch.nn.functional as F


def main():
    p = argparse.ArgumentParser()
    p.add_argument("data")
    p.add_argument("--dim", type=int, default=100)
    p.add_argument("--negatives", type=int, default=5)
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch", type=int, default=1024)
    p.add_argument("--lr", type=float, default=0.005)
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    with h5py.File(args.data) as f:
        pairs = torch.from_numpy(f["data"][:].astype(np.int64))
        counts = torch.from_numpy(f["counts"][:].astype(np.float64))
    vocab, dim = len(counts), args.dim
    noise = counts ** 0.75
    noise /= noise.sum()
    v_in = torch.nn.Parameter(torch.empty(vocab, dim).uniform_(-0.5 / dim, 0.5 / dim))
    v_out = torch.nn.Parameter(torch.zeros(vocab, dim))
    opt = torch.optim.Adam([v_in, v_out], lr=args.lr)
    steps = len(pairs) // args.batch
    print(f"pytorch {torch.__version__}: {len(pairs)} pairs, vocab {vocab}, {steps} steps per epoch")
    print("step,epoch,loss")
    window, seen, step = 0.0, 0, 0
    for epoch in range(1, args.epochs + 1):
        start, total = time.time(), 0.0
        order = torch.randperm(len(pairs))
        for s in range(steps):
            batch = pairs[order[s * args.batch:(s + 1) * args.batch]]
            centre, context = batch[:, 0], batch[:, 1]
            negatives = torch.multinomial(noise, len(batch) * args.negatives, replacement=True).view(len(batch), -1)
            words = torch.cat([context[:, None], negatives], dim=1)
            logits = (v_out[words] * v_in[centre][:, None, :]).sum(-1)
            targets = torch.zeros_like(logits)
            targets[:, 0] = 1.0
            loss = F.binary_cross_entropy_with_logits(logits, targets, reduction="sum") / len(batch)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
            window += loss.item()
            seen += 1
            step += 1
            if seen == args.log_every:
                print(f"{step},{epoch},{window / seen:.6f}")
                window, seen = 0.0, 0
        print(f"# epoch {epoch}/{args.epochs}  loss {total / steps:.4f}  {time.time() - start:.1f} s")


if __name__ == "__main__":
    main()
