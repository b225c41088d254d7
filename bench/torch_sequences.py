#!/usr/bin/python3
"""The sequence models of docs/RESULTS.md in PyTorch, trained on the same HDF5 files shardnet trains
on (read with h5py), for side-by-side accuracy and speed.   Needs Debian's python3-torch and
python3-h5py:  /usr/bin/python3 bench/torch_sequences.py --train A.h5 --test B.h5 --cell gru ...

  tokens (data (N, T) int32 ids, /length):  embedding -> [bi]rnn/lstm/gru -> dropout -> linear
  features (data (N, T, D) or images as rows):  rnn/lstm/gru -> linear (on the last state, or per step)
Loss: cross-entropy for class ids (binary cross-entropy with --binary), MSE for float targets.
With --steps N only trains N steps and prints samples/s (after 5 warm-up steps)."""
import argparse
import time

import h5py
import numpy as np
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


def load(path):
    with h5py.File(path, "r") as f:
        data = f["data"][()]
        label = f["label"][()]
        length = f["length"][()] if "length" in f else None
        vocab = len(f["vocab"]) if "vocab" in f else 0
    if data.dtype == np.uint8:
        data = data.astype(np.float32) / 255.0
    return data, label, length, vocab


class Model(nn.Module):
    def __init__(self, args, vocab, inputs, outputs, steps):
        super().__init__()
        self.tokens = vocab > 0
        self.embed = nn.Embedding(vocab, args.embed) if self.tokens else None
        cell = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[args.cell]
        self.rnn = cell(args.embed if self.tokens else inputs, args.hidden, num_layers=args.layers,
                        bidirectional=args.bidirectional, batch_first=True,
                        dropout=args.between if args.layers > 1 else 0.0)
        self.drop = nn.Dropout(args.dropout)
        self.per_step = args.per_step
        self.head = nn.Linear(args.hidden * (2 if args.bidirectional else 1), outputs)
        self.kind = args.cell
        self.steps = steps

    def forward(self, x, length):
        if self.tokens:
            x = self.embed(x.long())
        if length is not None:
            packed = pack_padded_sequence(x, length.cpu(), batch_first=True, enforce_sorted=False)
            out, state = self.rnn(packed)
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=self.steps)
        else:
            out, state = self.rnn(x)
        if self.per_step:
            return self.head(self.drop(out))
        h = state[0] if self.kind == "lstm" else state
        last = torch.cat([h[-2], h[-1]], dim=1) if self.rnn.bidirectional else h[-1]
        return self.head(self.drop(last))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--train", required=True)
    p.add_argument("--test")
    p.add_argument("--cell", default="gru")
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--bidirectional", action="store_true")
    p.add_argument("--embed", type=int, default=32)
    p.add_argument("--dropout", type=float, default=0.0, help="before the linear head")
    p.add_argument("--between", type=float, default=0.0, help="between stacked layers")
    p.add_argument("--per-step", action="store_true")
    p.add_argument("--binary", action="store_true", help="one logit, binary cross-entropy")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--steps", type=int, default=0)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.001)
    p.add_argument("--clip-norm", type=float, default=0.0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    data, label, length, vocab = load(args.train)
    n = data.shape[0]
    if vocab == 0 and data.ndim == 4:  # images as rows: (N, 1, H, W) -> (N, H, W)
        data = data.reshape(n, data.shape[-2], data.shape[-1])
    steps = data.shape[1]
    inputs = data.shape[2] if data.ndim == 3 else 0
    classes = label.dtype.kind == "i"
    outputs = (1 if args.binary else int(label.max()) + 1) if classes else label.shape[-1]
    model = Model(args, vocab, inputs, outputs, steps)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    if classes:
        loss_fn = nn.BCEWithLogitsLoss() if args.binary else nn.CrossEntropyLoss()
    else:
        loss_fn = nn.MSELoss()
    X = torch.from_numpy(data)
    Y = torch.from_numpy(label.astype(np.float32) if (args.binary or not classes) else label.astype(np.int64))
    L = torch.from_numpy(length.astype(np.int64)) if length is not None else None

    def step(idx):
        model.train()
        out = model(X[idx], L[idx] if L is not None else None)
        y = Y[idx]
        loss = loss_fn(out.squeeze(-1) if args.binary else out, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if args.clip_norm > 0:
            nn.utils.clip_grad_norm_(model.parameters(), args.clip_norm)
        opt.step()
        return loss.item()

    if args.steps:
        perm = torch.randperm(n)
        batches = [perm[(i * args.batch) % (n - args.batch):][:args.batch] for i in range(args.steps + 5)]
        for b in batches[:5]:
            step(b)
        start = time.perf_counter()
        for b in batches[5:]:
            step(b)
        elapsed = time.perf_counter() - start
        print(f"torch {args.cell} threads={args.threads} batch={args.batch}: {args.steps * args.batch / elapsed:.0f} samples/s")
        return

    start = time.perf_counter()
    for epoch in range(args.epochs):
        perm = torch.randperm(n)
        total = 0.0
        for i in range(n // args.batch):
            total += step(perm[i * args.batch:(i + 1) * args.batch])
        line = f"epoch {epoch + 1}/{args.epochs} loss {total / (n // args.batch):.4f}"
        if args.test:
            line += " " + evaluate(model, args, loss_fn, classes)
        print(line, flush=True)
    print(f"training time {time.perf_counter() - start:.1f} s")


def evaluate(model, args, loss_fn, classes):
    data, label, length, _ = load(args.test)
    if data.ndim == 4:
        data = data.reshape(data.shape[0], data.shape[-2], data.shape[-1])
    model.eval()
    with torch.no_grad():
        out = model(torch.from_numpy(data), torch.from_numpy(length.astype(np.int64)) if length is not None else None)
        if not classes:
            mse = ((out - torch.from_numpy(label)) ** 2).mean().item()
            return f"test mse {mse:.6f} (half: {mse / 2:.6f})"
        if args.binary:
            acc = ((out.squeeze(-1) > 0).long() == torch.from_numpy(label.astype(np.int64))).float().mean().item()
        else:
            acc = (out.argmax(1) == torch.from_numpy(label.astype(np.int64))).float().mean().item()
        return f"test acc {100 * acc:.2f}%"


if __name__ == "__main__":
    main()
