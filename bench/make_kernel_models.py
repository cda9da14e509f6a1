#!/usr/bin/python3
"""make_kernel_models.py - write one-op ONNX models for kiln's kernel microbenchmarks.

usage: /usr/bin/python3 bench/make_kernel_models.py OUT_DIR

bench/kernels.js times single kernels against the machine's measured FMA peak and memory
bandwidth. Each model here is one op with the shapes real models give it: a square GEMM, the
skinny GEMMs of batch-1 and small-batch inference (weights as initializers, as in a real
model), an attention-style batched MatMul, the three convolution flavours of CNNs, and a
purely bandwidth-bound elementwise Add. Alongside the .onnx files it writes manifest.json: for
each kernel its inputs and shapes, the FLOPs and the minimum bytes moved per run (inputs,
weights and outputs, each once), and whether compute or memory bounds it, so the JS side has
one source of truth. Weights are random from a fixed seed; the checker validates each model.
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

F32 = 4  # bytes per float


def make(name, op, inputs, weights, output_shape, attrs=None):
    """One-node model: `inputs` {name: shape} are graph inputs, `weights` {name: array}
    initializers (in that order after the inputs), output 'y'."""
    node = helper.make_node(op, list(inputs) + list(weights), ['y'], name=name, **(attrs or {}))
    graph = helper.make_graph(
        [node], name,
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs.items()],
        [helper.make_tensor_value_info('y', TensorProto.FLOAT, output_shape)],
        [numpy_helper.from_array(a, n) for n, a in weights.items()])
    model = helper.make_model(graph, producer_name='kiln make_kernel_models.py',
                              opset_imports=[helper.make_opsetid('', 13)])
    model.ir_version = 7
    onnx.checker.check_model(model, full_check=True)
    return model


def main(argv):
    if len(argv) != 2:
        sys.exit(__doc__.split('\n\n')[1])
    out_dir = argv[1]
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(7)

    def w(*shape, fan_in):
        return (rng.standard_normal(shape) / np.sqrt(fan_in)).astype(np.float32)

    kernels = []

    def add(name, about, model, flops, bytes_moved, bound):
        path = os.path.join(out_dir, f'{name}.onnx')
        onnx.save(model, path)
        inputs = {i.name: [d.dim_value for d in i.type.tensor_type.shape.dim]
                  for i in model.graph.input}
        kernels.append({'name': name, 'about': about, 'file': f'{name}.onnx', 'inputs': inputs,
                        'flops': flops, 'bytes': bytes_moved, 'bound': bound})

    # GEMMs: y[M,N] = a[M,K] @ W[K,N], W a weight. FLOPs 2MNK.
    for m, k, n, about in [(1024, 1024, 1024, 'square GEMM'),
                           (1, 1024, 1024, 'GEMV: batch-1 fully connected'),
                           (64, 1024, 4096, 'skinny GEMM: 64 tokens x transformer FFN')]:
        model = make(f'matmul_{m}x{k}x{n}', 'MatMul', {'a': [m, k]}, {'w': w(k, n, fan_in=k)}, [m, n])
        add(f'matmul_{m}x{k}x{n}', about, model, 2 * m * n * k, F32 * (m * k + k * n + m * n),
            'memory' if m == 1 else 'compute')

    # Attention scores: both operands are activations.
    b, m, k, n = 12, 128, 64, 128
    model = make('bmm_12x128x64x128', 'MatMul', {'a': [b, m, k], 'b': [b, k, n]}, {}, [b, m, n])
    add('bmm_12x128x64x128', 'batched MatMul: 12 heads of Q @ K^T', model, 2 * b * m * n * k,
        F32 * b * (m * k + k * n + m * n), 'compute')

    # Convolutions on 56x56 maps (ResNet / MobileNet stage-2 sizes), stride 1, 'same' padding.
    hw = 56 * 56
    model = make('conv3x3_64x56x56_to64', 'Conv', {'x': [1, 64, 56, 56]},
                 {'w': w(64, 64, 3, 3, fan_in=576), 'b': w(64, fan_in=1)}, [1, 64, 56, 56],
                 {'kernel_shape': [3, 3], 'pads': [1, 1, 1, 1]})
    # kiln runs it as Winograd F(4x4, 3x3): the FLOPs counted are the direct convolution's,
    # so its "% FMA peak" may pass 100% (4x fewer multiply-adds in the GEMMs).
    add('conv3x3_64x56x56_to64', 'Conv 3x3, 64 -> 64 channels (kiln: Winograd F(4x4); '
        'direct-convolution FLOPs)', model, 2 * 64 * 64 * 9 * hw,
        F32 * (64 * hw * 2 + 64 * 64 * 9 + 64), 'compute')
    model = make('conv1x1_256x56x56_to64', 'Conv', {'x': [1, 256, 56, 56]},
                 {'w': w(64, 256, 1, 1, fan_in=256), 'b': w(64, fan_in=1)}, [1, 64, 56, 56],
                 {'kernel_shape': [1, 1]})
    add('conv1x1_256x56x56_to64', 'Conv 1x1, 256 -> 64 channels (bottleneck reduce)', model,
        2 * 256 * 64 * hw, F32 * (256 * hw + 64 * hw + 256 * 64 + 64), 'compute')
    model = make('dwconv3x3_144x56x56', 'Conv', {'x': [1, 144, 56, 56]},
                 {'w': w(144, 1, 3, 3, fan_in=9), 'b': w(144, fan_in=1)}, [1, 144, 56, 56],
                 {'kernel_shape': [3, 3], 'pads': [1, 1, 1, 1], 'group': 144})
    add('dwconv3x3_144x56x56', 'depthwise Conv 3x3, 144 channels (MobileNetV2)', model,
        2 * 144 * 9 * hw, F32 * (144 * hw * 2 + 144 * 10), 'memory')

    # Bandwidth: two 16M-element (64 MiB) tensors in, one out; far beyond any cache.
    n = 16 * 1024 * 1024
    model = make('add_16m', 'Add', {'a': [n], 'b': [n]}, {}, [n])
    add('add_16m', 'elementwise Add, 2 x 64 MiB in, 64 MiB out', model, n, F32 * 3 * n, 'memory')

    with open(os.path.join(out_dir, 'manifest.json'), 'w') as f:
        json.dump(kernels, f, indent=1)
    print(f'wrote {len(kernels)} kernel models and manifest.json to {out_dir}')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
