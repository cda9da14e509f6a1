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
ext/*.onnx         tiny.onnx with its conv weight as external data in ext/weights.bin: valid
                   (ok.onnx), and with locations that leave the folder (../secret.bin, an
                   absolute path, a symlink to outside) or fields that are not numbers
dynamic.onnx       Relu on an input [1, h] (h given with --input-shape)
negative_dim.onnx  the same with dimension -1 instead of h
huge_fill.onnx     ConstantOfShape of [2^20, 2^20, 2^22] from a 1 KB model
stft_swapped.onnx  STFT with its signal and frame_step swapped (libonnx's shape inference
                   segfaults on it)
matmul_empty.onnx  MatMul of x [2, 0] and a [0, 3] constant (K = 0: the result is zeros)
instnorm_bias.onnx InstanceNormalization with a bias longer than the channel count
qlinear_zp.onnx    QLinearMatMul whose zero point has shape [0]
fill_add.onnx      y = x + ConstantOfShape([4, 8], 2.5): a large fill kept as one value
chain.onnx         1,000 chained elementwise ops (Add, Mul, Sub with 1.0001), x [1, 64]
lstm_rank2.onnx    LSTM with a rank-2 X (it used to be read as rank 3)
gather_sequence.onnx  Gather given a sequence (from SplitToSequence) as its data
huge_initializer.onnx  an initializer whose first dimension is 2^63 - 1
short_raw_data.onnx  an int64 shape initializer [2] holding 9 bytes of raw data (libonnx's
                   shape inference read past it)
constant_short.onnx  a Constant whose value tensor has shape [3] and two floats
split_scalar.onnx  Split of a scalar (axis 0 does not exist)
gather_scalar.onnx Gather from a scalar
huge_declared_input.onnx  Size of an input declared [3, 2^63 - 1] (the element count overflowed)
depth_block.onnx   DepthToSpace with blocksize 5000 (blocksize is bounded: 2^32 wrapped to 0 when
                   squared, a division by zero; libonnx's inference crashes on that one)
pool_stride0.onnx  MaxPool with strides 2^21 (strides are bounded, like kernel sizes, dilations
                   and pads; 0 was a division by zero, on which libonnx's inference crashes)
concat_types.onnx  Concat of a float and an int64 constant (the fold read the wrong values)
trilu_empty_k.onnx Trilu whose k is an empty tensor
split_over.onnx    Split of a constant [3] into [5] (slices were built before the sizes were checked)
gemm_f16_c.onnx    Gemm with a float16 C and float32 A, B
layernorm_axis.onnx  LayerNormalization with axis 7 on a rank-2 input
sum_empty_input.onnx  Sum whose first operand has an empty name (required by the schema)
folded_shape.onnx  Reshape to a shape folded from Concat(constants) (for --max-folded-bytes)
folded_weight.onnx MatMul by a weight transposed at compile time (folding limited: it runs)
"""
import os
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
    helper.make_node('Bernoulli', ['x'], ['v1'], name='bernoulli_a'),
    helper.make_node('Bernoulli', ['v1'], ['v2'], name='bernoulli_b'),
    helper.make_node('Relu', ['v2'], ['r'], name='relu_ok'),
    helper.make_node('RandomUniformLike', ['boxes'], ['sel'], name='random_0'),
]
graph = helper.make_graph(nodes, 'unsupported',
                          [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 8]),
                           helper.make_tensor_value_info('boxes', TensorProto.FLOAT, [1, 4, 4]),
                           helper.make_tensor_value_info('scores', TensorProto.FLOAT, [1, 1, 4])],
                          [helper.make_tensor_value_info('r', TensorProto.FLOAT, [1, 8]),
                           helper.make_tensor_value_info('sel', TensorProto.FLOAT, [1, 4, 4])],
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

# External data.
os.makedirs(f'{out}/ext', exist_ok=True)
weight_bytes = numpy_helper.to_array(tiny.graph.initializer[0]).tobytes()
with open(f'{out}/ext/weights.bin', 'wb') as f:
    f.write(weight_bytes)
with open(f'{out}/secret.bin', 'wb') as f:
    f.write(b'SECRET' * (len(weight_bytes) // 6 + 1))
if not os.path.lexists(f'{out}/ext/link.bin'):
    os.symlink('../secret.bin', f'{out}/ext/link.bin')


def external(name, **fields):
    model = onnx.ModelProto()
    model.CopyFrom(tiny)
    tensor = model.graph.initializer[0]
    tensor.ClearField('raw_data')
    tensor.ClearField('float_data')
    tensor.data_location = TensorProto.EXTERNAL
    for key, value in fields.items():
        entry = tensor.external_data.add()
        entry.key, entry.value = key, value
    with open(f'{out}/ext/{name}.onnx', 'wb') as f:
        f.write(model.SerializeToString())


external('ok', location='weights.bin', offset='0', length=str(len(weight_bytes)))
external('escape', location='../secret.bin')
external('absolute', location=os.path.abspath(f'{out}/secret.bin'))
external('symlink', location='link.bin')
external('bad_offset', location='weights.bin', offset='abc')
external('huge_length', location='weights.bin', length=str(1 << 40))
external('past_end', location='weights.bin', offset=str(len(weight_bytes)))

# Sizes no kernel can hold.
graph = helper.make_graph([helper.make_node('Relu', ['x'], ['y'], name='relu')], 'dynamic',
                          [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 'h'])],
                          [helper.make_tensor_value_info('y', TensorProto.FLOAT, [1, 'h'])])
onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)]),
          f'{out}/dynamic.onnx')
negative = onnx.load(f'{out}/dynamic.onnx')
negative.graph.input[0].type.tensor_type.shape.dim[1].dim_value = -1
with open(f'{out}/negative_dim.onnx', 'wb') as f:
    f.write(negative.SerializeToString())
fill_shape = numpy_helper.from_array(np.array([1 << 20, 1 << 20, 1 << 22], dtype=np.int64), 'shape')
graph = helper.make_graph([helper.make_node('ConstantOfShape', ['shape'], ['big'], name='fill'),
                           helper.make_node('ReduceSum', ['big'], ['y'], name='sum', keepdims=0)],
                          'huge_fill', [], [helper.make_tensor_value_info('y', TensorProto.FLOAT, [])],
                          [fill_shape])
onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)]),
          f'{out}/huge_fill.onnx')

# A malformed model that crashes the ONNX library itself.
graph = helper.make_graph([helper.make_node('STFT', ['step', 'x'], ['y'], name='stft')], 'stft',
                          [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 64, 1])],
                          [helper.make_tensor_value_info('y', TensorProto.FLOAT, [1, 8, 33, 2])],
                          [numpy_helper.from_array(np.array(8, dtype=np.int64), 'step')])
onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)]),
          f'{out}/stft_swapped.onnx')

# Nodes whose operands do not fit (the importer used to read failed results as values).
def save_model(name, nodes, inputs, outputs, inits):
    graph = helper.make_graph(nodes, name, inputs, outputs, inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)]),
              f'{out}/{name}.onnx')


save_model('matmul_empty', [helper.make_node('MatMul', ['x', 'b'], ['y'], name='mm')],
           [helper.make_tensor_value_info('x', TensorProto.FLOAT, [2, 0])],
           [helper.make_tensor_value_info('y', TensorProto.FLOAT, [2, 3])],
           [numpy_helper.from_array(np.zeros((0, 3), np.float32), 'b')])
np.save(f'{out}/x_empty.npy', np.zeros((2, 0), np.float32))
save_model('instnorm_bias',
           [helper.make_node('InstanceNormalization', ['x', 's', 'b'], ['y'], name='inorm')],
           [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 3, 8, 8])],
           [helper.make_tensor_value_info('y', TensorProto.FLOAT, [1, 3, 8, 8])],
           [numpy_helper.from_array(np.ones(3, np.float32), 's'),
            numpy_helper.from_array(np.ones(5, np.float32), 'b')])
quant = [('as', np.array(0.1, np.float32)), ('az', np.zeros((0,), np.uint8)),
         ('b', np.ones((3, 4), np.uint8)), ('bs', np.array(0.1, np.float32)),
         ('bz', np.array(0, np.uint8)), ('ys', np.array(0.1, np.float32)),
         ('yz', np.array(0, np.uint8))]
save_model('qlinear_zp',
           [helper.make_node('QLinearMatMul', ['a'] + [k for k, _ in quant], ['y'], name='qmm')],
           [helper.make_tensor_value_info('a', TensorProto.UINT8, [2, 3])],
           [helper.make_tensor_value_info('y', TensorProto.UINT8, [2, 4])],
           [numpy_helper.from_array(v, k) for k, v in quant])
save_model('fill_add',
           [helper.make_node('ConstantOfShape', ['shape'], ['fill'], name='fill',
                             value=numpy_helper.from_array(np.array([2.5], np.float32))),
            helper.make_node('Add', ['x', 'fill'], ['y'], name='add')],
           [helper.make_tensor_value_info('x', TensorProto.FLOAT, [4, 8])],
           [helper.make_tensor_value_info('y', TensorProto.FLOAT, [4, 8])],
           [numpy_helper.from_array(np.array([4, 8], np.int64), 'shape')])
np.save(f'{out}/x_fill.npy', np.arange(32, dtype=np.float32).reshape(4, 8))

# A 1,000-op elementwise chain: fused into kernels of bounded depth, not one expression.
chain, previous = [], 'x'
for i in range(1000):
    chain.append(helper.make_node(['Add', 'Mul', 'Sub'][i % 3], [previous, 'c'], [f't{i}'],
                                  name=f'op{i}'))
    previous = f't{i}'
save_model('chain', chain, [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 64])],
           [helper.make_tensor_value_info(previous, TensorProto.FLOAT, [1, 64])],
           [numpy_helper.from_array(np.array(1.0001, np.float32), 'c')])
np.save(f'{out}/x_chain.npy', np.linspace(-1, 1, 64, dtype=np.float32).reshape(1, 64))

# Recurrent operands of the wrong rank (X [T, I] instead of [T, B, I]) and an operand the
# schema requires given as an empty name.
hidden = 4
save_model('lstm_rank2', [helper.make_node('LSTM', ['x', 'w', 'r'], ['y'], name='lstm',
                                           hidden_size=hidden)],
           [helper.make_tensor_value_info('x', TensorProto.FLOAT, [5, 8])],
           [helper.make_tensor_value_info('y', TensorProto.FLOAT, [5, 1, 1, hidden])],
           [numpy_helper.from_array(np.ones((1, 4 * hidden, 8), np.float32), 'w'),
            numpy_helper.from_array(np.ones((1, 4 * hidden, hidden), np.float32), 'r')])
save_model('sum_empty_input', [helper.make_node('Sum', ['', 'x'], ['y'], name='sum')],
           [helper.make_tensor_value_info('x', TensorProto.FLOAT, [3])],
           [helper.make_tensor_value_info('y', TensorProto.FLOAT, [3])], [])
# Gemm with a float16 C beside float32 A and B; LayerNormalization with an axis past the rank.
save_model('gemm_f16_c', [helper.make_node('Gemm', ['a', 'b', 'c'], ['y'], name='gemm')],
           [helper.make_tensor_value_info('a', TensorProto.FLOAT, [2, 3])],
           [helper.make_tensor_value_info('y', TensorProto.FLOAT, [2, 4])],
           [numpy_helper.from_array(np.ones((3, 4), np.float32), 'b'),
            numpy_helper.from_array(np.ones((4,), np.float16), 'c')])
save_model('layernorm_axis', [helper.make_node('LayerNormalization', ['x', 's', 'b'], ['y'],
                                               name='ln', axis=7)],
           [helper.make_tensor_value_info('x', TensorProto.FLOAT, [2, 4])],
           [helper.make_tensor_value_info('y', TensorProto.FLOAT, [2, 4])],
           [numpy_helper.from_array(np.ones((4,), np.float32), 's'),
            numpy_helper.from_array(np.zeros((4,), np.float32), 'b')])
# Found by fuzzing: a sequence where a tensor is taken; an initializer of 2^63 - 1 rows.
save_model('gather_sequence',
           [helper.make_node('SplitToSequence', ['x'], ['seq'], name='split'),
            helper.make_node('Gather', ['seq', 'i'], ['y'], name='gather')],
           [helper.make_tensor_value_info('x', TensorProto.FLOAT, [3, 4])],
           [helper.make_tensor_value_info('y', TensorProto.FLOAT, [4])],
           [numpy_helper.from_array(np.array(0, np.int64), 'i')])
huge = helper.make_tensor('w', TensorProto.FLOAT, [1, 4], np.ones(4, np.float32).tobytes(), raw=True)
huge.dims[0] = (1 << 63) - 1
save_model('huge_initializer', [helper.make_node('Add', ['x', 'w'], ['y'], name='add')],
           [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 4])],
           [helper.make_tensor_value_info('y', TensorProto.FLOAT, ['n', 4])], [huge])
# Found by fuzzing: tensor data that does not match its shape (libonnx read past it), and
# axis 0 of a scalar.
short = numpy_helper.from_array(np.array([4, 8], np.int64), 'shape')
short.raw_data = short.raw_data[:9]
save_model('short_raw_data',
           [helper.make_node('ConstantOfShape', ['shape'], ['y'], name='fill')], [],
           [helper.make_tensor_value_info('y', TensorProto.FLOAT, [4, 8])], [short])
three = helper.make_tensor('v', TensorProto.FLOAT, [3], [1.0, 2.0, 3.0])
del three.float_data[2]
save_model('constant_short',
           [helper.make_node('Constant', [], ['c'], name='const', value=three),
            helper.make_node('Add', ['x', 'c'], ['y'], name='add')],
           [helper.make_tensor_value_info('x', TensorProto.FLOAT, [3])],
           [helper.make_tensor_value_info('y', TensorProto.FLOAT, [3])], [])
save_model('split_scalar', [helper.make_node('Split', ['x'], ['y'], name='split')],
           [helper.make_tensor_value_info('x', TensorProto.FLOAT, [])],
           [helper.make_tensor_value_info('y', TensorProto.FLOAT, [])], [])
save_model('huge_declared_input', [helper.make_node('Size', ['x'], ['y'], name='size')],
           [helper.make_tensor_value_info('x', TensorProto.FLOAT, [3, (1 << 63) - 1])],
           [helper.make_tensor_value_info('y', TensorProto.INT64, [])], [])
save_model('depth_block', [helper.make_node('DepthToSpace', ['x'], ['y'], name='d2s', blocksize=5000)],
           [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 4, 2, 2])],
           [helper.make_tensor_value_info('y', TensorProto.FLOAT, ['n', 'c', 'h', 'w'])], [])
save_model('pool_stride0', [helper.make_node('MaxPool', ['x'], ['y'], name='pool', kernel_shape=[2, 2],
                                             strides=[1 << 21, 1 << 21])],
           [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 1, 4, 4])],
           [helper.make_tensor_value_info('y', TensorProto.FLOAT, ['n', 'c', 'h', 'w'])], [])
save_model('concat_types', [helper.make_node('Concat', ['a', 'b'], ['c'], name='concat', axis=0),
                            helper.make_node('Add', ['x', 'c'], ['y'], name='add')],
           [helper.make_tensor_value_info('x', TensorProto.FLOAT, [2])],
           [helper.make_tensor_value_info('y', TensorProto.FLOAT, [2])],
           [numpy_helper.from_array(np.ones(1, np.float32), 'a'),
            numpy_helper.from_array(np.ones(1, np.int64), 'b')])
save_model('trilu_empty_k', [helper.make_node('Trilu', ['x', 'k'], ['y'], name='trilu')],
           [helper.make_tensor_value_info('x', TensorProto.FLOAT, [3, 3])],
           [helper.make_tensor_value_info('y', TensorProto.FLOAT, [3, 3])],
           [numpy_helper.from_array(np.zeros(0, np.int64), 'k')])
save_model('split_over', [helper.make_node('Split', ['c', 's'], ['y'], name='split'),
                          helper.make_node('Add', ['x', 'y'], ['z'], name='add')],
           [helper.make_tensor_value_info('x', TensorProto.FLOAT, [3])],
           [helper.make_tensor_value_info('z', TensorProto.FLOAT, [3])],
           [numpy_helper.from_array(np.ones(3, np.float32), 'c'),
            numpy_helper.from_array(np.array([5], np.int64), 's')])
save_model('gather_scalar', [helper.make_node('Gather', ['x', 'i'], ['y'], name='gather')],
           [helper.make_tensor_value_info('x', TensorProto.FLOAT, [])],
           [helper.make_tensor_value_info('y', TensorProto.FLOAT, [])],
           [numpy_helper.from_array(np.array(0, np.int64), 'i')])
# A reshape whose shape is a folded Concat of constants (folding can be limited).
save_model('folded_shape',
           [helper.make_node('Concat', ['c1', 'c2'], ['shape'], name='shape_concat', axis=0),
            helper.make_node('Reshape', ['x', 'shape'], ['y'], name='reshape')],
           [helper.make_tensor_value_info('x', TensorProto.FLOAT, [2, 6])],
           [helper.make_tensor_value_info('y', TensorProto.FLOAT, [3, 4])],
           [numpy_helper.from_array(np.array([3], np.int64), 'c1'),
            numpy_helper.from_array(np.array([4], np.int64), 'c2')])
# A weight transposed at compile time (a fold of 64 KiB) before a MatMul.
save_model('folded_weight',
           [helper.make_node('Transpose', ['w'], ['wt'], name='wt', perm=[1, 0]),
            helper.make_node('MatMul', ['x', 'wt'], ['y'], name='mm')],
           [helper.make_tensor_value_info('x', TensorProto.FLOAT, [2, 128])],
           [helper.make_tensor_value_info('y', TensorProto.FLOAT, [2, 128])],
           [numpy_helper.from_array(rng.standard_normal((128, 128)).astype(np.float32), 'w')])
np.save(f'{out}/x_folded.npy', rng.standard_normal((2, 128)).astype(np.float32))

# Inputs: the right one, a wrong shape, a wrong dtype.
np.save(f'{out}/x.npy', rng.standard_normal((1, 3, 8, 8)).astype(np.float32))
np.save(f'{out}/x_wrong_shape.npy', rng.standard_normal((1, 3, 8, 7)).astype(np.float32))
np.save(f'{out}/x_wrong_dtype.npy', rng.standard_normal((1, 3, 8, 8)).astype(np.float64))
