#!/usr/bin/python3
"""make_models.py - writes the small ONNX models the error tests use into a directory.

tiny.onnx          a valid Conv + Relu + Add model with real weights (for weights-file tests)
tiny_other.onnx    the same graph with other weights
unsupported.onnx   uses Unique twice and NonMaxSuppression once (kiln must list all of them)
malformed.onnx     bytes that are not a protobuf ModelProto
truncated.onnx     the first half of tiny.onnx
names.onnx         three outputs named a/b, a:b and a_b (one file name each once '/' and ':'
                   become '_', so the executable must tell them apart)
bad_header.npy     a .npy whose header holds control bytes (they must not reach the terminal)
"""
import sys
import numpy as np
import onnx
from onnx import helper, TensorProto, numpy_helper

out = sys.argv[1]
rng = np.random.default_rng(7)

weight = numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), 'conv.weight')
bias = numpy_helper.from_array(rng.standard_normal((4,)).astype(np.float32), 'conv.bias')
nodes = [
    helper.make_node('Conv', ['x', 'conv.weight', 'conv.bias'], ['c'], name='conv0', pads=[1, 1, 1, 1]),
    helper.make_node('Relu', ['c'], ['r'], name='relu0'),
    helper.make_node('Add', ['r', 'c'], ['y'], name='add0'),
]
graph = helper.make_graph(nodes, 'tiny',
                          [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 3, 8, 8])],
                          [helper.make_tensor_value_info('y', TensorProto.FLOAT, [1, 4, 8, 8])],
                          [weight, bias])
tiny = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)])
onnx.checker.check_model(tiny)
onnx.save(tiny, f'{out}/tiny.onnx')
other = onnx.ModelProto()
other.CopyFrom(tiny)
other.graph.initializer[0].CopyFrom(
    numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), 'conv.weight'))
onnx.save(other, f'{out}/tiny_other.onnx')

k = numpy_helper.from_array(np.array([2], dtype=np.int64), 'k')
nodes = [
    helper.make_node('Unique', ['x'], ['v1'], name='unique_a', sorted=1),
    helper.make_node('Unique', ['v1'], ['v2'], name='unique_b', sorted=1),
    helper.make_node('Relu', ['v2'], ['r'], name='relu_ok'),
    helper.make_node('NonMaxSuppression', ['boxes', 'scores'], ['sel'], name='nms_0'),
]
graph = helper.make_graph(nodes, 'unsupported',
                          [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 8]),
                           helper.make_tensor_value_info('boxes', TensorProto.FLOAT, [1, 4, 4]),
                           helper.make_tensor_value_info('scores', TensorProto.FLOAT, [1, 1, 4])],
                          [helper.make_tensor_value_info('r', TensorProto.FLOAT, [None]),
                           helper.make_tensor_value_info('sel', TensorProto.INT64, [None, 3])],
                          [k])
onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)]),
          f'{out}/unsupported.onnx')

with open(f'{out}/malformed.onnx', 'wb') as f:
    f.write(b'\xff\xfe this is not an ONNX model \x00\x01\x02' * 10)
data = open(f'{out}/tiny.onnx', 'rb').read()
with open(f'{out}/truncated.onnx', 'wb') as f:
    f.write(data[: len(data) // 2])

# Outputs whose names collide once made file names.
nodes = [helper.make_node('Relu', ['x'], ['a/b'], name='relu_ab'),
         helper.make_node('Neg', ['x'], ['a:b'], name='neg_ab'),
         helper.make_node('Abs', ['x'], ['a_b'], name='abs_ab')]
graph = helper.make_graph(nodes, 'names',
                          [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 3, 8, 8])],
                          [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 3, 8, 8])
                           for n in ('a/b', 'a:b', 'a_b')])
onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)]), f'{out}/names.onnx')

# A .npy header with an escape sequence and other control bytes in it.
header = b"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 8, 8), \x1b[31mRED\x07}"
header += b' ' * ((64 - (10 + len(header) + 1) % 64) % 64) + b'\n'
with open(f'{out}/bad_header.npy', 'wb') as f:
    f.write(b'\x93NUMPY\x01\x00' + len(header).to_bytes(2, 'little') + header + b'\0' * 768)

# Inputs: the right one, a wrong shape, a wrong dtype.
np.save(f'{out}/x.npy', rng.standard_normal((1, 3, 8, 8)).astype(np.float32))
np.save(f'{out}/x_wrong_shape.npy', rng.standard_normal((1, 3, 8, 7)).astype(np.float32))
np.save(f'{out}/x_wrong_dtype.npy', rng.standard_normal((1, 3, 8, 8)).astype(np.float64))
