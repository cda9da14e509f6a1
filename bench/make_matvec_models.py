#!/usr/bin/python3
"""make_matvec_models.py - write matrix-vector ONNX models for the quantized-weights benchmark.

usage: /usr/bin/python3 bench/make_matvec_models.py OUT_DIR

bench/quant_matvec.js measures how fast kiln streams quantized weights through a batch-1
matrix-vector product, the operation that dominates LLM decoding: y[1, N] = x[1, K] @ W[K, N]
with W a constant, for the (K, N) of a 7B transformer's attention projection (4096, 4096) and
FFN up projection (4096, 11008), and the 8B FFN size (4096, 14336) ggml is timed at. kiln's --quantize keeps the first and the last quantizable
layer in float, so a single MatMul would never be quantized; each model is therefore a chain of
three MatMuls:

    x[1, 32] @ A[32, K] -> [1, K] @ W[K, N] -> [1, N] @ B[N, 32] -> y[1, 32]

where the small first and last ones (A, B) stay float and the big middle one (W) is the layer
that gets quantized and timed (the JS side checks kiln's --report to be sure). A and B add
2-4% to the bytes read; the JS side counts them.

Alongside the .onnx files it writes manifest.json (per model: file, K, N, input, bytes of each
weight as float32) and, per model, one fixed input x and the exact output of the chain in
float64 (NAME.x.npy, NAME.ref.npy), so every build's output can be checked. Weights are
standard normal / sqrt(fan-in) from a fixed seed (activations stay O(1)); the checker
validates each model.
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SIZES = [(4096, 4096, '7B attention projection'), (4096, 11008, '7B FFN up projection'),
         (4096, 14336, '8B FFN up projection, the size ggml was timed at in issue #5')]
EDGE = 32  # width of the small first and last matmuls


def chain(name, a, w, b):
    """x[1, EDGE] @ a @ w @ b -> y[1, EDGE], the weights as initializers."""
    nodes = [helper.make_node('MatMul', ['x', 'a'], ['h1'], name='first'),
             helper.make_node('MatMul', ['h1', 'w'], ['h2'], name='big'),
             helper.make_node('MatMul', ['h2', 'b'], ['y'], name='last')]
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, EDGE])],
        [helper.make_tensor_value_info('y', TensorProto.FLOAT, [1, EDGE])],
        [numpy_helper.from_array(t, n) for n, t in (('a', a), ('w', w), ('b', b))])
    model = helper.make_model(graph, producer_name='kiln make_matvec_models.py',
                              opset_imports=[helper.make_opsetid('', 13)])
    model.ir_version = 7
    onnx.checker.check_model(model)  # full_check would copy the 180 MB model once more
    return model


def main(argv):
    if len(argv) != 2:
        sys.exit(__doc__.split('\n\n')[1])
    out_dir = argv[1]
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(11)

    def weight(rows, cols):
        return (rng.standard_normal((rows, cols), dtype=np.float32) / np.sqrt(rows)).astype(np.float32)

    models = []
    for k, n, about in SIZES:
        name = f'matvec_{k}x{n}'
        a, w, b = weight(EDGE, k), weight(k, n), weight(n, EDGE)
        onnx.save(chain(name, a, w, b), os.path.join(out_dir, f'{name}.onnx'))
        x = rng.uniform(-1, 1, (1, EDGE)).astype(np.float32)
        ref = x.astype(np.float64) @ a.astype(np.float64) @ w.astype(np.float64) @ b.astype(np.float64)
        np.save(os.path.join(out_dir, f'{name}.x.npy'), x)
        np.save(os.path.join(out_dir, f'{name}.ref.npy'), ref)
        models.append({'name': name, 'about': about, 'file': f'{name}.onnx', 'k': k, 'n': n,
                       'input': {'x': [1, EDGE]}, 'x': f'{name}.x.npy', 'ref': f'{name}.ref.npy',
                       'big_float_bytes': 4 * k * n, 'edge_float_bytes': 4 * EDGE * (k + n)})
        print(f'wrote {name}.onnx ({4 * (k * n + EDGE * (k + n)) / 2**20:.0f} MiB of weights)')
    with open(os.path.join(out_dir, 'manifest.json'), 'w') as f:
        json.dump(models, f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
