#!/usr/bin/python3
"""make_pointwise_model.py - a 1x1 convolution model and an input, for plan tests and benchmarks.

usage: make_pointwise_model.py IN_CHANNELS OUT_CHANNELS SIZE OUT.onnx OUT_x.npy

y = Relu(Conv(x, W, b)) with x [1, IN_CHANNELS, SIZE, SIZE], from a fixed seed (weights scaled
by 1/sqrt(IN_CHANNELS), so outputs stay O(1)).
"""
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper, save

channels_in, channels_out, size = (int(v) for v in sys.argv[1:4])
rng = np.random.default_rng(7)
weight = (rng.standard_normal((channels_out, channels_in, 1, 1)) /
          np.sqrt(channels_in)).astype(np.float32)
bias = rng.uniform(-0.1, 0.1, (channels_out,)).astype(np.float32)
graph = helper.make_graph(
    [helper.make_node('Conv', ['x', 'w', 'b'], ['c']), helper.make_node('Relu', ['c'], ['y'])],
    'pointwise',
    [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, channels_in, size, size])],
    [helper.make_tensor_value_info('y', TensorProto.FLOAT, [1, channels_out, size, size])],
    [numpy_helper.from_array(weight, 'w'), numpy_helper.from_array(bias, 'b')])
save(helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)]), sys.argv[4])
np.save(sys.argv[5], rng.uniform(-1, 1, (1, channels_in, size, size)).astype(np.float32))
