#!/usr/bin/python3
"""make_pool_model.py - a 3x3 stride-2 max pool and a 3x3 padded average pool, with an input.

usage: make_pool_model.py OUT.onnx OUT_x.npy

ymax = MaxPool(x, 3x3, stride 2) and yavg = AveragePool(x, 3x3, stride 1, pad 1) with x
[1, 8, 23, 23], from a fixed seed.
"""
import sys

import numpy as np
from onnx import TensorProto, helper, save

graph = helper.make_graph(
    [helper.make_node('MaxPool', ['x'], ['ymax'], kernel_shape=[3, 3], strides=[2, 2]),
     helper.make_node('AveragePool', ['x'], ['yavg'], kernel_shape=[3, 3], pads=[1, 1, 1, 1])],
    'pools',
    [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 8, 23, 23])],
    [helper.make_tensor_value_info('ymax', TensorProto.FLOAT, [1, 8, 11, 11]),
     helper.make_tensor_value_info('yavg', TensorProto.FLOAT, [1, 8, 23, 23])])
save(helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)]), sys.argv[1])
np.save(sys.argv[2], np.random.default_rng(3).uniform(-1, 1, (1, 8, 23, 23)).astype(np.float32))
