#!/usr/bin/python3
"""make_models.py DIR - the two models the library tests link into one program.

convnet.onnx  x [1, 3, 32, 32] -> Conv 3x3 (16 channels, pad 1) -> Relu -> y (enough work,
              442k multiply-adds, for a parallel loop: the parallel-for hook is tested on it)
mlp.onnx      a [2, 16], b [2, 16] -> MatMul(a + b, W) + c -> Softmax -> p [2, 8]; also
              the row sums of a as an int64 output n [2] (a second output, another dtype)
and their inputs as .npy (for the executables) and raw bytes (for the C program).
"""
import sys
import numpy as np
import onnx
from onnx import helper, TensorProto, numpy_helper

out = sys.argv[1]
rng = np.random.default_rng(16)


def save(name, nodes, inputs, outputs, inits):
    graph = helper.make_graph(nodes, name, inputs, outputs, inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)]),
              f'{out}/{name}.onnx')


save('convnet',
     [helper.make_node('Conv', ['x', 'w', 'bias'], ['c'], name='conv', pads=[1, 1, 1, 1]),
      helper.make_node('Relu', ['c'], ['y'], name='relu')],
     [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 3, 32, 32])],
     [helper.make_tensor_value_info('y', TensorProto.FLOAT, [1, 16, 32, 32])],
     [numpy_helper.from_array(rng.standard_normal((16, 3, 3, 3)).astype(np.float32), 'w'),
      numpy_helper.from_array(rng.standard_normal(16).astype(np.float32), 'bias')])
save('mlp',
     [helper.make_node('Add', ['a', 'b'], ['s'], name='add'),
      helper.make_node('MatMul', ['s', 'W'], ['m'], name='matmul'),
      helper.make_node('Add', ['m', 'c'], ['z'], name='bias'),
      helper.make_node('Softmax', ['z'], ['p'], name='softmax', axis=-1),
      helper.make_node('Cast', ['a'], ['ai'], name='cast', to=TensorProto.INT64),
      helper.make_node('ReduceSum', ['ai', 'axes'], ['n'], name='rowsum', keepdims=0)],
     [helper.make_tensor_value_info('a', TensorProto.FLOAT, [2, 16]),
      helper.make_tensor_value_info('b', TensorProto.FLOAT, [2, 16])],
     [helper.make_tensor_value_info('p', TensorProto.FLOAT, [2, 8]),
      helper.make_tensor_value_info('n', TensorProto.INT64, [2])],
     [numpy_helper.from_array(rng.standard_normal((16, 8)).astype(np.float32), 'W'),
      numpy_helper.from_array(rng.standard_normal(8).astype(np.float32), 'c'),
      numpy_helper.from_array(np.array([1], np.int64), 'axes')])

inputs = {'x': rng.standard_normal((1, 3, 32, 32)).astype(np.float32),
          'a': (rng.standard_normal((2, 16)) * 4).astype(np.float32),
          'b': rng.standard_normal((2, 16)).astype(np.float32)}
for name, value in inputs.items():
    np.save(f'{out}/{name}.npy', value)
    value.tofile(f'{out}/{name}.bin')
