#!/usr/bin/python3
"""An exported ONNX model against shardnet's own outputs, with tools that share no code with it.

    onnx_export_check.py MODEL.onnx DATA.h5 SHARDNET_RAW.csv [--rows N] [--tolerance T]

onnx.checker validates the file (python3-onnx); OpenCV's dnn module (python3-opencv) runs it on the
first N rows of DATA.h5's /data (uint8 scaled by 1/255, as shardnet reads it) and its outputs are
compared with `shardnet predict --raw --format csv` on the same rows. Where OpenCV cannot run the
graph (a line names the operator it stopped at), onnx_reference.py (numpy, from the ONNX operator
definitions) evaluates it instead. Prints the runtime, the max absolute and relative difference and
the model's operators; exits 1 when the difference passes the tolerance, 2 when nothing ran it.
"""
import argparse
import csv
import sys

import cv2
import h5py
import numpy as np
import onnx

import onnx_reference


def opencv_adapted(model, sample):
    """The model file OpenCV is given: as exported, except for a (batch, T, D) input, which OpenCV's
    Python binding cannot pass (a 3-d array becomes a 2-d matrix of T channels): that one is fed as
    (batch, 1, T, D) through one Reshape node put in front."""
    if len(sample) != 2:
        return model.SerializeToString()
    adapted = onnx.ModelProto()
    adapted.CopyFrom(model)
    graph = adapted.graph
    graph.input[0].name = "input_4d"
    graph.input[0].type.tensor_type.shape.dim.insert(1, onnx.TensorShapeProto.Dimension(dim_value=1))
    shape = onnx.helper.make_tensor("input_shape", onnx.TensorProto.INT64, [3], [-1] + sample)
    graph.initializer.append(shape)
    graph.node.insert(0, onnx.helper.make_node("Reshape", ["input_4d", "input_shape"], ["input"]))
    return adapted.SerializeToString()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("data")
    parser.add_argument("shardnet_csv")
    parser.add_argument("--rows", type=int, default=100)
    parser.add_argument("--tolerance", type=float, default=1e-4)
    args = parser.parse_args()

    model = onnx.load(args.model)
    onnx.checker.check_model(model, full_check=True)
    ops = sorted({n.op_type for n in model.graph.node})

    # A graph with a second input takes each sequence's length: the data set's /length.
    takes_lengths = len(model.graph.input) > 1
    with h5py.File(args.data, "r") as f:
        data = f["data"][: args.rows]
        lengths = f["length"][: args.rows].astype(np.int32) if takes_lengths else None
    x = data.astype(np.float32) / np.float32(255.0) if data.dtype == np.uint8 else data.astype(np.float32)
    # The rows in the model's own input shape (a row-by-row LSTM reads (1, 28, 28) images as (28, 28)).
    sample = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim[1:]]
    x = x.reshape([len(x)] + sample)

    with open(args.shardnet_csv, newline="") as f:
        rows = list(csv.DictReader(f))[: args.rows]
    columns = [c for c in rows[0] if c.startswith("output_")]
    expected = np.array([[float(r[c]) for c in columns] for r in rows], dtype=np.float64)

    try:
        net = cv2.dnn.readNetFromONNX(opencv_adapted(model, sample))
        net.setInput(x.reshape([len(x), 1] + sample) if len(sample) == 2 else x, "input_4d" if len(sample) == 2 else "input")
        if takes_lengths:
            net.setInput(lengths, "lengths")
        got = net.forward().reshape(len(x), -1).astype(np.float64)
        runtime = f"OpenCV {cv2.__version__}"
    except cv2.error as e:
        # Where OpenCV stops, the graph is evaluated by a numpy reading of the ONNX operator
        # definitions (onnx_reference.py); the line says both.
        message = " ".join(str(e).split())
        stopped = next((n.op_type for n in model.graph.node if f"[{n.op_type}]" in message or
                        f"[{n.op_type}@" in message or f"!{n.name}" in message), "?")
        print(f"{args.model}: OpenCV {cv2.__version__} stopped at {stopped}: {message[:200]}")
        try:
            got = onnx_reference.run(model, x, lengths).reshape(len(x), -1)
        except NotImplementedError as missing:
            print(f"{args.model}: onnx.checker passed; no runtime here runs it ({missing})")
            return 2
        runtime = "the numpy reference of the ONNX operators"
    if got.shape != expected.shape:
        print(f"{args.model}: OpenCV gave shape {got.shape}, shardnet {expected.shape}")
        return 1
    diff = np.abs(got - expected)
    scale = max(np.abs(expected).max(), 1e-30)
    print(f"{args.model}: onnx.checker passed; {runtime} on {len(x)} rows: max |difference| "
          f"{diff.max():.3g} (relative to the largest output {diff.max() / scale:.3g}); operators {', '.join(ops)}")
    return 0 if diff.max() <= args.tolerance else 1


if __name__ == "__main__":
    sys.exit(main())
