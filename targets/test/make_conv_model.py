#!/usr/bin/python3
"""make_conv_model.py - a strided 3x3 convolution model and an input for the plan tests.

usage: make_conv_model.py OUT.onnx OUT_x.npy

y = Relu(Conv(x, W, b, stride 2, pad 1)) with x [1, 8, 32, 32] and 16 output channels, from a
fixed seed: its input paths are a bordered input and x phases, placed by the plan.
"""
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper, save

rng = np.random.default_rng(5)
weight = rng.uniform(-0.3, 0.3, (16, 8, 3, 3)).astype(np.float32)
bias = rng.uniform(-0.1, 0.1, (16,)).astype(np.float32)
graph = helper.make_graph(
    [helper.make_node('Conv', ['x', 'w', 'b'], ['c'], strides=[2, 2], pads=[1, 1, 1, 1]),
     helper.make_node('Relu', ['c'], ['y'])],
    'conv',
    [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 8, 32, 32])],
    [helper.make_tensor_value_info('y', TensorProto.FLOAT, [1, 16, 16, 16])],
    [numpy_helper.from_array(weight, 'w'), numpy_helper.from_array(bias, 'b')])
save(helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)]), sys.argv[1])
np.save(sys.argv[2], rng.uniform(-1, 1, (1, 8, 32, 32)).astype(np.float32))
