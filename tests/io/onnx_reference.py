"""A small evaluator of ONNX graphs in numpy, written from the operator definitions of the ONNX
specification (opset 13), for the operators OpenCV's dnn module cannot run: the recurrent ones
(RNN, GRU, LSTM with their default activations), MaxPool's indices and MaxUnpool, and what
surrounds them in an exported net. It
shares no code with shardnet: an independent reading of what the exported graph means."""
import numpy as np
from onnx import numpy_helper


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def attrs(node):
    out = {}
    for a in node.attribute:
        if a.type == a.INT:
            out[a.name] = a.i
        elif a.type == a.INTS:
            out[a.name] = list(a.ints)
        elif a.type == a.FLOAT:
            out[a.name] = a.f
        elif a.type == a.STRING:
            out[a.name] = a.s.decode()
    return out


def recurrent(op, x, w, r, b, a, lengths=None):
    """Y (T, dirs, N, H) and Y_h (dirs, N, H) of ONNX's RNN/GRU/LSTM, zero initial state; with
    sequence_lens, steps at or past a sequence's length leave its state as it is (and Y zero), so the
    reverse direction starts at its last real step."""
    steps, n, _ = x.shape
    lengths = np.full(n, steps) if lengths is None else np.asarray(lengths)
    dirs, h = w.shape[0], a["hidden_size"]
    ys, finals = [], []
    for d in range(dirs):
        wd, rd = w[d], r[d]
        gates = wd.shape[0] // h
        wb, rb = b[d][: gates * h], b[d][gates * h:]
        state, cell = np.zeros((n, h)), np.zeros((n, h))
        out = np.zeros((steps, n, h))
        order = range(steps - 1, -1, -1) if (a.get("direction") == "reverse" or d == 1) else range(steps)
        for t in order:
            xt = x[t]
            real = (t < lengths)[:, None]
            previous_state, previous_cell = state, cell
            if op == "RNN":
                state = np.tanh(xt @ wd.T + wb + state @ rd.T + rb)
            elif op == "GRU":  # gates z, r, h
                z = sigmoid(xt @ wd[:h].T + wb[:h] + state @ rd[:h].T + rb[:h])
                rr = sigmoid(xt @ wd[h:2 * h].T + wb[h:2 * h] + state @ rd[h:2 * h].T + rb[h:2 * h])
                if a.get("linear_before_reset", 0):
                    hh = np.tanh(xt @ wd[2 * h:].T + wb[2 * h:] + rr * (state @ rd[2 * h:].T + rb[2 * h:]))
                else:
                    hh = np.tanh(xt @ wd[2 * h:].T + wb[2 * h:] + (rr * state) @ rd[2 * h:].T + rb[2 * h:])
                state = (1 - z) * hh + z * state
            else:  # LSTM, gates i, o, f, c
                g = xt @ wd.T + wb + state @ rd.T + rb
                i, o, f, c = (g[:, k * h:(k + 1) * h] for k in range(4))
                cell = sigmoid(f) * cell + sigmoid(i) * np.tanh(c)
                state = sigmoid(o) * np.tanh(cell)
            state = np.where(real, state, previous_state)
            cell = np.where(real, cell, previous_cell)
            out[t] = np.where(real, state, 0.0)
        ys.append(out)
        finals.append(state)
    return np.stack(ys, axis=1), np.stack(finals)


def max_pool(x, a):
    """MaxPool's Y and Indices (flat positions in x, row-major), padding as -infinity."""
    k, st = a["kernel_shape"], a.get("strides", [1, 1])
    p = a.get("pads", [0, 0, 0, 0])
    n, c, h, w = x.shape
    oh = (h + p[0] + p[2] - k[0]) // st[0] + 1
    ow = (w + p[1] + p[3] - k[1]) // st[1] + 1
    y = np.full((n, c, oh, ow), -np.inf)
    idx = np.zeros((n, c, oh, ow), dtype=np.int64)
    for i in range(oh):
        for j in range(ow):
            for di in range(k[0]):
                for dj in range(k[1]):
                    r, q = i * st[0] - p[0] + di, j * st[1] - p[1] + dj
                    if 0 <= r < h and 0 <= q < w:
                        v = x[:, :, r, q]
                        better = v > y[:, :, i, j]
                        y[:, :, i, j] = np.where(better, v, y[:, :, i, j])
                        flat = (np.arange(n)[:, None] * c + np.arange(c)[None, :]) * h * w + r * w + q
                        idx[:, :, i, j] = np.where(better, flat, idx[:, :, i, j])
    return [y, idx]


def max_unpool(x, indices, a, output_shape=None):
    """MaxUnpool: each value to its index in a zero tensor of output_shape (default from the attributes)."""
    k, st = a["kernel_shape"], a.get("strides", [1, 1])
    p = a.get("pads", [0, 0, 0, 0])
    n, c, h, w = x.shape
    shape = list(output_shape) if output_shape is not None else \
        [n, c, (h - 1) * st[0] - p[0] - p[2] + k[0], (w - 1) * st[1] - p[1] - p[3] + k[1]]
    y = np.zeros(int(np.prod(shape)))
    y[indices.reshape(-1)] = x.reshape(-1)
    return [y.reshape(shape)]


def run(model, x, lengths=None):
    values = {t.name: numpy_helper.to_array(t).astype(np.float64) if t.data_type == 1 else numpy_helper.to_array(t)
              for t in model.graph.initializer}
    values[model.graph.input[0].name] = x.astype(np.float64)
    if lengths is not None:
        values[model.graph.input[1].name] = lengths
    for node in model.graph.node:
        a = attrs(node)
        ins = [values[i] if i else None for i in node.input]
        op = node.op_type
        if op in ("RNN", "GRU", "LSTM"):
            outs = recurrent(op, *ins[:4], a, ins[4] if len(ins) > 4 else None)
        elif op == "Transpose":
            outs = [np.transpose(ins[0], a["perm"])]
        elif op == "Reshape":
            shape = [d if d != 0 else ins[0].shape[i] for i, d in enumerate(ins[1])]
            outs = [ins[0].reshape(shape)]
        elif op == "Flatten":
            outs = [ins[0].reshape(ins[0].shape[0], -1)]
        elif op == "Gemm":
            w = ins[1].T if a.get("transB", 0) else ins[1]
            outs = [ins[0] @ w + (ins[2] if len(ins) > 2 else 0)]
        elif op == "MatMul":
            outs = [ins[0] @ ins[1]]
        elif op == "Add":
            outs = [ins[0] + ins[1]]
        elif op == "Mul":
            outs = [ins[0] * ins[1]]
        elif op == "Cast":
            outs = [ins[0].astype(np.int64)]
        elif op == "Gather":
            outs = [np.take(ins[0], ins[1], axis=a.get("axis", 0))]
        elif op == "Relu":
            outs = [np.maximum(ins[0], 0)]
        elif op == "Tanh":
            outs = [np.tanh(ins[0])]
        elif op == "Sigmoid":
            outs = [sigmoid(ins[0])]
        elif op == "Softmax":
            e = np.exp(ins[0] - ins[0].max(axis=a.get("axis", -1), keepdims=True))
            outs = [e / e.sum(axis=a.get("axis", -1), keepdims=True)]
        elif op == "MaxPool":
            outs = max_pool(ins[0], a)
        elif op == "MaxUnpool":
            outs = max_unpool(ins[0], ins[1], a, ins[2] if len(ins) > 2 else None)
        elif op == "Shape":
            outs = [np.array(ins[0].shape, dtype=np.int64)]
        elif op == "Identity":
            outs = [ins[0]]
        else:
            raise NotImplementedError(f"the numpy reference has no {op}")
        for name, value in zip(node.output, outs):
            values[name] = value
    return values[model.graph.output[0].name]
