#!/usr/bin/python3
"""make_matmul_model.py - a one-matmul ONNX model and an input for the plan tests.

usage: make_matmul_model.py OUT.onnx OUT_x.npy

y = Relu(x @ W + b) with x [64, 256], W [256, 128] from a fixed seed: one kernel whose
contraction the CPU backends tile in registers at the output.
"""
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper, save

rng = np.random.default_rng(3)
weight = rng.uniform(-0.1, 0.1, (256, 128)).astype(np.float32)
bias = rng.uniform(-0.1, 0.1, (128,)).astype(np.float32)
graph = helper.make_graph(
    [helper.make_node('MatMul', ['x', 'w'], ['m']),
     helper.make_node('Add', ['m', 'b'], ['a']),
     helper.make_node('Relu', ['a'], ['y'])],
    'matmul',
    [helper.make_tensor_value_info('x', TensorProto.FLOAT, [64, 256])],
    [helper.make_tensor_value_info('y', TensorProto.FLOAT, [64, 128])],
    [numpy_helper.from_array(weight, 'w'), numpy_helper.from_array(bias, 'b')])
save(helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)]), sys.argv[1])
np.save(sys.argv[2], rng.uniform(-1, 1, (64, 256)).astype(np.float32))
