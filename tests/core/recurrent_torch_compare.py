#!/usr/bin/python3
"""Forward outputs and gradients of shardnet's rnn / lstm / gru against PyTorch's nn.RNN / nn.LSTM /
nn.GRU on the same random weights and inputs, uni- and bidirectional, 2 layers, with and without
padded lengths, returning the sequence or the last state. Needs torch (Debian's python3-torch).
    recurrent_torch_compare.py path/to/recurrent_reference
Exits 0 when every value agrees within 1e-5 (absolute, or relative above 1)."""
import itertools
import os
import subprocess
import sys
import tempfile

import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

TOLERANCE = 1e-5
N, T, D, H, LAYERS = 4, 6, 5, 7, 2


def write(f, name, t):
    t = t.detach().float().contiguous()
    dims = " ".join(str(d) for d in t.shape)
    f.write(f"{name} {dims} : " + " ".join(repr(float(v)) for v in t.reshape(-1).tolist()) + "\n")


def read(path):
    tensors = {}
    with open(path) as f:
        for line in f:
            head, values = line.split(":")
            name, *dims = head.split()
            tensors[name] = torch.tensor([float(v) for v in values.split()]).reshape([int(d) for d in dims])
    return tensors


def torch_run(kind, bidirectional, lengths, last, x, dy, seed):
    torch.manual_seed(seed)
    cls = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind]
    module = cls(D, H, num_layers=LAYERS, bidirectional=bidirectional, batch_first=True)
    x = x.clone().requires_grad_(True)
    if lengths is not None:
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, state = module(packed)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=T)
    else:
        out, state = module(x)
    h_n = state[0] if kind == "lstm" else state
    y = torch.cat([h_n[-2], h_n[-1]], dim=1) if (last and bidirectional) else (h_n[-1] if last else out)
    (y * dy).sum().backward()
    return module, y, x.grad


def main():
    reference = sys.argv[1]
    worst_all = 0.0
    failures = 0
    cases = itertools.product(("rnn", "lstm", "gru"), (False, True), (False, True), (False, True))
    for seed, (kind, bidirectional, masked, last) in enumerate(cases):
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(N, T, D, generator=g)
        lengths = torch.tensor([T, 3, 1, 5]) if masked else None
        dirs = 2 if bidirectional else 1
        dy = torch.randn((N, dirs * H) if last else (N, T, dirs * H), generator=g)
        module, y, dx = torch_run(kind, bidirectional, lengths, last, x, dy, seed)
        with tempfile.TemporaryDirectory() as tmp:
            src, dst = os.path.join(tmp, "in.txt"), os.path.join(tmp, "out.txt")
            with open(src, "w") as f:
                write(f, "x", x)
                write(f, "dy", dy)
                if masked:
                    write(f, "lengths", lengths.float())
                for name, p in module.named_parameters():
                    write(f, name, p)
            subprocess.run([reference, kind, str(H), str(LAYERS), "1" if bidirectional else "0",
                            "last" if last else "sequence", src, dst], check=True)
            ours = read(dst)
        expected = {"y": y, "dx": dx}
        expected.update({name + ".grad": p.grad for name, p in module.named_parameters()})
        worst = 0.0
        for name, want in expected.items():
            got = ours[name].reshape(want.shape)
            diff = ((got - want).abs() / want.abs().clamp(min=1.0)).max().item()
            worst = max(worst, diff)
            if diff > TOLERANCE:
                failures += 1
                print(f"FAIL {kind} bi={bidirectional} masked={masked} last={last} {name}: {diff:.3g}")
        worst_all = max(worst_all, worst)
        print(f"{kind:4} bidirectional={int(bidirectional)} masked={int(masked)} return={'last' if last else 'sequence':8}"
              f" layers={LAYERS}: max difference {worst:.2e}")
    print(f"worst difference over all cases: {worst_all:.2e} (tolerance {TOLERANCE})")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
