#!/usr/bin/python3
"""make_tune_model.py - a small CNN with one kernel of each common kind, for the tuner tests.

usage: make_tune_model.py OUT.onnx OUT_x.npy

x [1, 16, 32, 32] -> 3x3 conv 32 (Winograd) + ReLU -> 3x3 stride-2 conv 48 + ReLU ->
depthwise 3x3 + ReLU -> 1x1 conv 64 -> global average pool -> Gemm 10. Weights from a fixed
seed, scaled so activations stay O(1).
"""
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper, save

rng = np.random.default_rng(11)


def weight(name, shape):
    fan_in = int(np.prod(shape[1:]))
    return numpy_helper.from_array(
        rng.uniform(-1, 1, shape).astype(np.float32) * np.float32(np.sqrt(3.0 / fan_in)), name)


inits = [weight('w1', (32, 16, 3, 3)), weight('w2', (48, 32, 3, 3)), weight('w3', (48, 1, 3, 3)),
         weight('w4', (64, 48, 1, 1)), weight('w5', (10, 64))]
nodes = [
    helper.make_node('Conv', ['x', 'w1'], ['c1'], pads=[1, 1, 1, 1]),
    helper.make_node('Relu', ['c1'], ['r1']),
    helper.make_node('Conv', ['r1', 'w2'], ['c2'], pads=[1, 1, 1, 1], strides=[2, 2]),
    helper.make_node('Relu', ['c2'], ['r2']),
    helper.make_node('Conv', ['r2', 'w3'], ['c3'], pads=[1, 1, 1, 1], group=48),
    helper.make_node('Relu', ['c3'], ['r3']),
    helper.make_node('Conv', ['r3', 'w4'], ['c4']),
    helper.make_node('GlobalAveragePool', ['c4'], ['p']),
    helper.make_node('Flatten', ['p'], ['f']),
    helper.make_node('Gemm', ['f', 'w5'], ['y'], transB=1),
]
graph = helper.make_graph(
    nodes, 'tune',
    [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 16, 32, 32])],
    [helper.make_tensor_value_info('y', TensorProto.FLOAT, [1, 10])], inits)
save(helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)]), sys.argv[1])
np.save(sys.argv[2], rng.uniform(-1, 1, (1, 16, 32, 32)).astype(np.float32))
