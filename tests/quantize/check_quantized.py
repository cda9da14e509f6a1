#!/usr/bin/python3
"""check_quantized.py - `kiln compile --quantize` end to end, for every format.

A small model (MatMul [1,40]x[40,48] -> Reshape -> Conv 48->8 1x1, reduction lengths that
are not multiples of 32) is compiled with each format and all layers quantized. Checks:
  1. the weights file holds, for each quantized weight, a GGUF tensor of GGML's type whose
     bytes equal those of an independent numpy implementation of ggml's reference
     quantizer (tests/unit/quantize_vectors.py), rows along the reduction axis, zero-padded;
     on an x86 host (AVX2 or later: integer dot products) a matmul weight is stored in
     kiln's interleaved twin instead (type 1024 + GGML's), and its bytes must be
     the reference bytes arranged as docs/formats.md describes;
  2. the executable's output equals a numpy forward pass with the weights dequantized by
     that reference (within float32 summation-order tolerance), so the kernels decode the
     packed blocks exactly. A matmul on interleaved weights quantizes its activations to
     int8 per block of 32 (scale amax/127, round half to even) and multiplies in integers;
     the reference then does the same in numpy.
A second model (MatMul [2,5,70]x[70,64] + bias: batch axes, a row count that is not a
multiple of the 4-row register tile, three padded blocks) checks the integer kernel's tiling
for every block format, for the host, for the x86-64-avx2 target where the CPU has AVX2 (the
same kernel without VNNI) and for aarch64-dotprod under qemu where it is installed (SDOT, on
weights made signed as they load). A pointwise convolution (40 -> 64 channels, 5x6 pixels)
checks the same kernel with pixels as rows, on the same targets, and a padded stride-2 3x3
convolution (12 -> 128 channels) with whole windows as rows. An embedding table read by
Gather checks that rows of a quantized table decode exactly, in every format.
usage: check_quantized.py KILN WORK_DIR
"""
import os
import shutil
import struct
import subprocess
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'unit'))
import quantize_vectors as ref  # noqa: E402

GGML_TYPE = {'q8_0': 8, 'q4_0': 2, 'q4_1': 3, 'q5_0': 6, 'q5_1': 7}
BLOCK_FORMATS = list(GGML_TYPE)


def read_gguf(path):
    """name -> (ggml type, dims innermost first, bytes) for every tensor."""
    data = open(path, 'rb').read()
    assert data[:4] == b'GGUF'
    version, count, kv = struct.unpack_from('<IQQ', data, 4)
    pos = 24
    alignment = 32

    def string(p):
        n, = struct.unpack_from('<Q', data, p)
        return data[p + 8:p + 8 + n].decode(), p + 8 + n
    for _ in range(kv):
        key, pos = string(pos)
        kind, = struct.unpack_from('<I', data, pos)
        pos += 4
        if kind == 4:
            value, = struct.unpack_from('<I', data, pos)
            pos += 4
            if key == 'general.alignment':
                alignment = value
        elif kind == 8:
            _, pos = string(pos)
        else:
            raise ValueError(f'unexpected metadata type {kind}')
    infos = []
    for _ in range(count):
        name, pos = string(pos)
        dims, = struct.unpack_from('<I', data, pos)
        ne = struct.unpack_from('<' + 'Q' * dims, data, pos + 4)
        pos += 4 + 8 * dims
        kind, offset = struct.unpack_from('<IQ', data, pos)
        pos += 12
        infos.append((name, kind, ne, offset))
    start = (pos + alignment - 1) // alignment * alignment
    tensors = {}
    for i, (name, kind, ne, offset) in enumerate(infos):
        end = infos[i + 1][3] if i + 1 < len(infos) else len(data) - start
        tensors[name] = (kind, ne, data[start + offset:start + end])
    return tensors


def int8_reference(rows):
    scales = np.abs(rows).max(axis=1).astype(np.float32) / np.float32(127)
    safe = np.where(scales == 0, 1, scales).astype(np.float32)
    q = np.clip(np.sign(rows) * np.floor(np.abs(rows / safe[:, None]) + 0.5), -127, 127)
    return (q.astype(np.float32) * scales[:, None]).astype(np.float32)


def deinterleave(raw, fmt, rows, length):
    """kiln's interleaved (q8_0x16, q4_0x16, ...) bytes back to GGML rows (docs/formats.md)."""
    block = ref.FORMATS[fmt][1]
    scales = 4 if fmt in ('q4_1', 'q5_1') else 2  # bytes of binary16 d (and m) opening a block
    high = 4 if fmt.startswith('q5') else 0  # qh bytes after them
    blocks = length // 32
    data = np.frombuffer(raw, dtype=np.uint8)
    out = np.zeros(rows * blocks * block, dtype=np.uint8)
    for row in range(rows):
        group, lane = divmod(row, 16)
        for b in range(blocks):
            src = (group * blocks + b) * 16 * block
            dst = (row * blocks + b) * block
            for p in range(scales):
                out[dst + p] = data[src + 32 * (p // 2) + 2 * lane + p % 2]
            for p in range(high):
                out[dst + scales + p] = data[src + 16 * scales + 4 * lane + p]
            for e in range(block - scales - high):
                byte = data[src + 16 * (scales + high) + 64 * (e // 4) + 4 * lane + e % 4]
                out[dst + scales + high + e] = byte ^ 0x80 if fmt == 'q8_0' else byte
    return out.tobytes()


def block_quants(raw, fmt, rows, length):
    """(d[rows, blocks], q[rows, blocks, 32], m[rows, blocks] or None) from GGML rows of a
    block format, with x = d*q (+ m)."""
    block = ref.FORMATS[fmt][1]
    blocks = length // 32
    data = np.frombuffer(bytes(raw), dtype=np.uint8).reshape(rows, blocks, block)
    with_min = fmt in ('q4_1', 'q5_1')
    halves = data[:, :, :4].copy().view(np.float16).astype(np.float32)
    d, m = halves[:, :, 0], (halves[:, :, 1] if with_min else None)
    if fmt == 'q8_0':
        return d, data[:, :, 2:].view(np.int8).astype(np.int64), m
    scales = 4 if with_min else 2
    high = 4 if fmt.startswith('q5') else 0
    nibbles = data[:, :, scales + high:].astype(np.int64)
    q = np.concatenate([nibbles & 15, nibbles >> 4], axis=2)
    if high:
        qh = data[:, :, scales:scales + 4].copy().view('<u4').astype(np.int64)  # [rows, blocks, 1]
        q |= ((qh >> np.arange(32)) & 1) << 4
    offset = 0 if with_min else 16 if high else 8
    return d, q - offset, m


def integer_matmul(x, d, q, m, length):
    """What kiln's integer kernel computes: x[..., K] quantized per block of 32 (scale
    amax/127 in float32, round half to even), integer block dots (plus m times the block's
    quant sum for Q4_1), float64 sums."""
    rows = x.reshape(-1, x.shape[-1]).astype(np.float32)
    padded = np.zeros((rows.shape[0], length), dtype=np.float32)
    padded[:, :rows.shape[1]] = rows
    blocks = padded.reshape(rows.shape[0], -1, 32)
    scale = (np.abs(blocks).max(axis=2) / np.float32(127)).astype(np.float32)
    safe = np.where(scale > 0, scale, 1)
    inverse = np.where(scale > 0, np.float32(1) / safe, 0).astype(np.float32)
    qx = np.round((blocks * inverse[:, :, None]).astype(np.float32)).astype(np.int64)
    dots = np.einsum('mbj,nbj->mnb', qx, q)  # exact integers
    y = dots * (d[None, :, :].astype(np.float64) * scale[:, None, :].astype(np.float64))
    if m is not None:
        sums = qx.sum(axis=2)  # [rows, blocks]
        y = y + m[None, :, :].astype(np.float64) * (scale * sums)[:, None, :]
    y = y.sum(axis=2)
    return y.reshape(x.shape[:-1] + (d.shape[0],))


def check_output(fmt, got, want):
    error = np.abs(got - want).max()
    tolerance = 1e-5 * max(1.0, np.abs(want).max())
    if error > tolerance:
        print(f'FAIL {fmt}: output differs from the reference by {error:.3g}')
        return False, error
    return True, error


RUNNERS = {'host': [], 'x86-64-avx2': [],
           'aarch64-dotprod': ['qemu-aarch64', '-L', '/usr/aarch64-linux-gnu', '-cpu', 'max']}


def check_contraction(kiln, work, targets, name, label, nodes, x, out_shape, initializers,
                      weight_rows, activation_rows, to_output, flags=()):
    """Compiles the one-input model `nodes` (input x, output y, weight 'w') in every block
    format for every target, all layers quantized uniformly, runs it on `x` and compares y
    with the reference: `to_output(rows @ weight)`, the rows being `activation_rows` (one per
    output row of the contraction) and the weight `weight_rows` (one per output column),
    through the integer arithmetic when the weights file holds the interleaved twin. With
    `flags` (extra compile options), the weights file must hold GGML's own types."""
    graph = helper.make_graph(
        nodes, name, [helper.make_tensor_value_info('x', TensorProto.FLOAT, list(x.shape))],
        [helper.make_tensor_value_info('y', TensorProto.FLOAT, out_shape)],
        [numpy_helper.from_array(v, k) for k, v in initializers.items()])
    model = os.path.join(work, f'{name}.onnx')
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)]), model)
    np.save(os.path.join(work, f'{name}.x.npy'), x)
    columns, length = weight_rows.shape
    padded = (length + 31) // 32 * 32
    passed = failed = 0
    for fmt, target in [(f, t) for t in targets for f in BLOCK_FORMATS]:
        exe = os.path.join(work, f'{name}_{fmt}_{target}')
        subprocess.run([kiln, 'compile', model, '-o', exe, '--quantize', fmt,
                        '--quantize-all-layers', '--quantize-uniform', '--target', target,
                        *flags], check=True, capture_output=True)
        kind, _, _ = read_gguf(exe + '.gguf')['w']
        if flags and kind != GGML_TYPE[fmt]:
            print(f'FAIL {fmt} {target} {label}: type {kind} is not GGML\'s {GGML_TYPE[fmt]}')
            failed += 1
            continue
        raw, values = ref.quantize_rows(fmt, weight_rows.copy(), fused=False)
        out = os.path.join(work, f'out_{name}_{fmt}_{target}')
        subprocess.run(RUNNERS[target] + [exe, '--input', f'x={work}/{name}.x.npy',
                                          '--output-dir', out], check=True, capture_output=True)
        got = np.load(os.path.join(out, 'y.npy'))
        integer = kind == 1024 + GGML_TYPE[fmt]
        if integer:
            rows = integer_matmul(activation_rows, *block_quants(raw, fmt, columns, padded), padded)
        else:
            weight = np.array(values, dtype=np.float32).reshape(columns, padded)[:, :length]
            rows = activation_rows @ weight.T
        good, error = check_output(f'{fmt} {target} {label}', got, to_output(rows))
        if good:
            how = 'integer dot products' if integer else 'float'
            print(f'PASS {fmt} {target} {label} ({how}): output within {error:.2g} of the '
                  'reference')
            passed += 1
        else:
            failed += 1
    return passed, failed


def main():
    kiln, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    rng = np.random.default_rng(11)
    w1 = rng.standard_normal((40, 48)).astype(np.float32)
    w2 = rng.standard_normal((8, 48, 1, 1)).astype(np.float32)
    nodes = [helper.make_node('MatMul', ['x', 'fc.w'], ['h'], name='fc'),
             helper.make_node('Reshape', ['h', 'shape'], ['h4'], name='reshape'),
             helper.make_node('Conv', ['h4', 'conv.w'], ['y'], name='conv')]
    graph = helper.make_graph(
        nodes, 'quantized',
        [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 40])],
        [helper.make_tensor_value_info('y', TensorProto.FLOAT, [1, 8, 1, 1])],
        [numpy_helper.from_array(w1, 'fc.w'), numpy_helper.from_array(w2, 'conv.w'),
         numpy_helper.from_array(np.array([1, 48, 1, 1], dtype=np.int64), 'shape')])
    model_path = os.path.join(work, 'quantized.onnx')
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)]), model_path)
    x = rng.standard_normal((1, 40)).astype(np.float32)
    np.save(os.path.join(work, 'x.npy'), x)
    # Rows along the reduction axis: the matmul's columns, the conv's filters.
    weight_rows = {'fc.w': w1.T.copy(), 'conv.w': w2.reshape(8, 48)}
    passed = failed = 0
    for fmt in ['q8_0', 'q4_0', 'q4_1', 'q5_0', 'q5_1', 'int8']:
        exe = os.path.join(work, fmt)
        subprocess.run([kiln, 'compile', model_path, '-o', exe, '--quantize', fmt,
                        '--quantize-all-layers', '--quantize-uniform'], check=True,
                       capture_output=True)
        tensors = read_gguf(exe + '.gguf')
        dequantized = {}
        integer = False
        ok = True
        for name, rows in weight_rows.items():
            if fmt == 'int8':
                dequantized[name] = int8_reference(rows)
                continue
            raw, values = ref.quantize_rows(fmt, rows, fused=False)
            padded = (rows.shape[1] + 31) // 32 * 32
            values = np.array(values, dtype=np.float32).reshape(rows.shape[0], padded)
            dequantized[name] = values[:, :rows.shape[1]]
            kind, ne, data = tensors[name]
            if name == 'fc.w' and kind == 1024 + GGML_TYPE[fmt]:
                integer = True
                data = deinterleave(data, fmt, rows.shape[0], padded)
                kind -= 1024
                dequantized['fc.w.quants'] = block_quants(raw, fmt, rows.shape[0], padded)
            if kind != GGML_TYPE[fmt] or list(ne) != [padded, rows.shape[0]] or data != bytes(raw):
                print(f'FAIL {fmt}: GGUF tensor {name} (type {kind}, dims {list(ne)}) '
                      f'differs from the reference quantizer')
                ok = False
        out = os.path.join(work, f'out_{fmt}')
        subprocess.run([exe, '--input', f'x={work}/x.npy', '--output-dir', out], check=True,
                       capture_output=True)
        got = np.load(os.path.join(out, 'y.npy')).reshape(-1)
        if integer:
            h = integer_matmul(x, *dequantized['fc.w.quants'], 64)
        else:
            h = x @ dequantized['fc.w'].T
        want = (dequantized['conv.w'] @ h.reshape(48)).reshape(-1)
        good, error = check_output(fmt, got, want)
        ok = ok and good
        if ok:
            what = 'per-row int8' if fmt == 'int8' else 'GGUF bytes equal the reference quantizer'
            how = ', integer dot products' if integer else ''
            print(f'PASS {fmt}: {what}{how}; output within {error:.2g} of the dequantized '
                  'reference')
            passed += 1
        else:
            failed += 1

    # The host; the AVX2 target (no VNNI, no AVX-512) where this CPU can run it; aarch64 with
    # SDOT under qemu where the cross toolchain and qemu are installed.
    targets = ['host']
    if os.path.exists('/proc/cpuinfo') and ' avx2' in open('/proc/cpuinfo').read():
        targets.append('x86-64-avx2')
    if shutil.which('qemu-aarch64') and shutil.which('aarch64-linux-gnu-gcc'):
        targets.append('aarch64-dotprod')

    # The integer kernel's tiling: batch axes, 5 rows, K = 70 (3 blocks), N = 64 (4 groups).
    w3 = rng.standard_normal((70, 64)).astype(np.float32)
    bias = rng.standard_normal(64).astype(np.float32)
    x3 = rng.standard_normal((2, 5, 70)).astype(np.float32)
    nodes = [helper.make_node('MatMul', ['x', 'w'], ['h'], name='fc'),
             helper.make_node('Add', ['h', 'b'], ['y'], name='bias')]
    p, f = check_contraction(kiln, work, targets, 'tiles', '[2,5,70]x[70,64]', nodes, x3,
                             [2, 5, 64], {'w': w3, 'b': bias}, w3.T, x3, lambda y: y + bias)
    passed, failed = passed + p, failed + f
    # --ggml-layout: GGML's own type ids in the file, the weights decoded to float.
    p, f = check_contraction(kiln, work, ['host'], 'tiles_ggml', '[2,5,70]x[70,64] --ggml-layout',
                             nodes, x3, [2, 5, 64], {'w': w3, 'b': bias}, w3.T, x3,
                             lambda y: y + bias, flags=['--ggml-layout'])
    passed, failed = passed + p, failed + f

    # A pointwise convolution (64 output channels: the integer path's minimum) on a 5x6 image:
    # every pixel is a row of the same contraction.
    w4 = rng.standard_normal((64, 40, 1, 1)).astype(np.float32)
    b4 = rng.standard_normal(64).astype(np.float32)
    x4 = rng.standard_normal((1, 40, 5, 6)).astype(np.float32)
    nodes = [helper.make_node('Conv', ['x', 'w', 'b'], ['y'], name='pointwise')]
    p, f = check_contraction(kiln, work, targets, 'pointwise', 'pointwise conv 40->64 on 5x6',
                             nodes, x4, [1, 64, 5, 6], {'w': w4, 'b': b4}, w4.reshape(64, 40),
                             x4.reshape(40, 30).T, lambda y: (y + b4).T.reshape(1, 64, 5, 6))
    passed, failed = passed + p, failed + f

    # A 3x3 convolution with stride 2 and padding 1 (128 output channels: the integer path's
    # minimum for windows): every output pixel's row is its zero-bordered window.
    w5 = rng.standard_normal((128, 12, 3, 3)).astype(np.float32)
    x5 = rng.standard_normal((1, 12, 7, 9)).astype(np.float32)
    bordered = np.pad(x5[0], ((0, 0), (1, 1), (1, 1)))
    windows = np.stack([bordered[:, 2 * oy:2 * oy + 3, 2 * ox:2 * ox + 3].reshape(-1)
                        for oy in range(4) for ox in range(5)])  # [20 pixels, 12*3*3]
    nodes = [helper.make_node('Conv', ['x', 'w'], ['y'], name='window', pads=[1, 1, 1, 1],
                              strides=[2, 2])]
    p, f = check_contraction(kiln, work, targets, 'window', '3x3 stride-2 conv 12->128 on 7x9',
                             nodes, x5, [1, 128, 4, 5], {'w': w5}, w5.reshape(128, 108),
                             windows, lambda y: y.T.reshape(1, 128, 4, 5))
    passed, failed = passed + p, failed + f

    # An embedding table (Gather of rows, 50 entries of 40 values: padded rows) in every
    # format: the rows read back exactly as the reference dequantizes them.
    table = rng.standard_normal((50, 40)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node('Gather', ['table', 'ids'], ['y'], name='embed', axis=0)],
        'embedding', [helper.make_tensor_value_info('ids', TensorProto.INT64, [4])],
        [helper.make_tensor_value_info('y', TensorProto.FLOAT, [4, 40])],
        [numpy_helper.from_array(table, 'table')])
    embed_path = os.path.join(work, 'embedding.onnx')
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)]), embed_path)
    ids = np.array([3, 0, 49, -1], dtype=np.int64)
    np.save(os.path.join(work, 'ids.npy'), ids)
    for fmt in ['q8_0', 'q4_0', 'q4_1', 'q5_0', 'q5_1', 'int8']:
        exe = os.path.join(work, f'embedding_{fmt}')
        subprocess.run([kiln, 'compile', embed_path, '-o', exe, '--quantize', fmt,
                        '--quantize-uniform'], check=True, capture_output=True)
        out = os.path.join(work, f'out_embedding_{fmt}')
        subprocess.run([exe, '--input', f'ids={work}/ids.npy', '--output-dir', out], check=True,
                       capture_output=True)
        got = np.load(os.path.join(out, 'y.npy'))
        if fmt == 'int8':
            rows = int8_reference(table)
        else:
            raw, values = ref.quantize_rows(fmt, table, fused=False)
            rows = np.array(values, dtype=np.float32).reshape(50, 64)[:, :40]
            kind, ne, data = read_gguf(exe + '.gguf')['table']
            if kind != GGML_TYPE[fmt] or list(ne) != [64, 50] or data != bytes(raw):
                print(f'FAIL {fmt} embedding: GGUF tensor (type {kind}, dims {list(ne)}) differs '
                      'from the reference quantizer')
                failed += 1
                continue
        good, error = check_output(f'{fmt} embedding', got, rows[ids])
        if good:
            print(f'PASS {fmt} embedding (Gather of 4 rows of 40): rows within {error:.2g} of the '
                  'dequantized reference')
            passed += 1
        else:
            failed += 1
    print(f'{passed} passed, {failed} failed')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
