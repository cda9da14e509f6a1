#!/usr/bin/python3
"""make_corpus.py - seed corpora for kiln's fuzz targets, generated (no binary fixtures).

usage: make_corpus.py OUT_DIR [--onnx-sample N]

OUT_DIR/onnx   node-test models from Debian's libonnx-testdata (every one, or N of them
               spread evenly over the sorted list), plus the bad-input models of
               tests/errors/make_models.py (crash reproducers of earlier defects)
OUT_DIR/gguf   GGUF v3 files for the fuzz program of fuzz_gguf.c (conv.weight f32
               [4,3,3,3], fc.weight q8_0 [2,64], fingerprint "fuzz-fingerprint"), written
               here independently of kiln's writer, with every metadata value type, and
               variants (other alignment, extra tensors, shuffled order, empty file)
OUT_DIR/npy    arrays of every dtype kiln reads, ranks 0-8, empty ones, .npy versions 1-3,
               Fortran order and big-endian (which kiln must refuse cleanly)
OUT_DIR/plans  kernel plan files: CPU and GPU plans as `kiln compile --emit-plans` writes
               them, and wrong ones (unknown fields, wrong types, duplicate keys)
"""
import glob
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np

out = sys.argv[1]
sample = None
if '--onnx-sample' in sys.argv:
    sample = int(sys.argv[sys.argv.index('--onnx-sample') + 1])
for sub in ('onnx', 'gguf', 'npy', 'plans'):
    os.makedirs(os.path.join(out, sub), exist_ok=True)
here = os.path.dirname(os.path.abspath(__file__))

# --- ONNX -------------------------------------------------------------------------------
models = sorted(glob.glob('/usr/share/libonnx-testdata/data/node/*/model.onnx'))
if sample and len(models) > sample:
    models = [models[i * len(models) // sample] for i in range(sample)]
for path in models:
    shutil.copy(path, os.path.join(out, 'onnx', os.path.basename(os.path.dirname(path)) + '.onnx'))
with tempfile.TemporaryDirectory() as tmp:
    subprocess.run([sys.executable, os.path.join(here, '..', 'errors', 'make_models.py'), tmp],
                   check=True, stdout=subprocess.DEVNULL)
    for path in glob.glob(os.path.join(tmp, '*.onnx')):
        if os.path.isfile(path) and not os.path.islink(path):
            shutil.copy(path, os.path.join(out, 'onnx', 'errors_' + os.path.basename(path)))

# --- GGUF -------------------------------------------------------------------------------
UINT8, INT8, UINT16, INT16, UINT32, INT32, FLOAT32, BOOL, STRING, ARRAY, UINT64, INT64, \
    FLOAT64 = range(13)


def gguf_string(text):
    data = text.encode()
    return struct.pack('<Q', len(data)) + data


def gguf_value(kind, value):
    scalar = {UINT8: 'B', INT8: 'b', UINT16: 'H', INT16: 'h', UINT32: 'I', INT32: 'i',
              FLOAT32: 'f', BOOL: '?', UINT64: 'Q', INT64: 'q', FLOAT64: 'd'}
    if kind in scalar:
        return struct.pack('<' + scalar[kind], value)
    if kind == STRING:
        return gguf_string(value)
    element, items = value
    return struct.pack('<IQ', element, len(items)) + b''.join(gguf_value(element, v) for v in items)


def q8_0_blocks(rows):
    out = b''
    for row in rows:
        for start in range(0, len(row), 32):
            block = row[start:start + 32]
            scale = float(np.abs(block).max()) / 127 or 1.0
            out += np.float16(scale).tobytes() + np.round(block / scale).astype(np.int8).tobytes()
    return out


def gguf_file(tensors, metadata, alignment=32, version=3):
    """tensors: (name, ggml type, ne innermost first, bytes)."""
    head = b'GGUF' + struct.pack('<IQQ', version, len(tensors), len(metadata))
    for key, kind, value in metadata:
        head += gguf_string(key) + struct.pack('<I', kind) + gguf_value(kind, value)
    offset, data = 0, b''
    infos = b''
    for name, ggml_type, ne, payload in tensors:
        infos += gguf_string(name) + struct.pack('<I', len(ne)) + b''.join(struct.pack('<Q', d) for d in ne)
        infos += struct.pack('<IQ', ggml_type, offset)
        padded = payload + b'\0' * (-len(payload) % alignment)
        data += padded
        offset += len(padded)
    head += infos
    head += b'\0' * (-len(head) % alignment)
    return head + data


rng = np.random.default_rng(11)
conv = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
fc = rng.standard_normal((2, 64)).astype(np.float32)
tensors = [('conv.weight', 0, [3, 3, 3, 4], conv.tobytes()),
           ('fc.weight', 8, [64, 2], q8_0_blocks(fc))]
base_meta = [('general.architecture', STRING, 'kiln'), ('kiln.fingerprint', STRING, 'fuzz-fingerprint')]
every_type = base_meta + [
    ('t.u8', UINT8, 200), ('t.i8', INT8, -5), ('t.u16', UINT16, 60000), ('t.i16', INT16, -300),
    ('t.u32', UINT32, 4000000000), ('t.i32', INT32, -7), ('t.f32', FLOAT32, 1.5), ('t.bool', BOOL, True),
    ('t.u64', UINT64, 1 << 40), ('t.i64', INT64, -(1 << 40)), ('t.f64', FLOAT64, 2.25),
    ('t.strings', ARRAY, (STRING, ['a', 'bc', ''])), ('t.ints', ARRAY, (INT32, [1, 2, 3])),
    ('t.nested', ARRAY, (ARRAY, [(UINT8, [1, 2]), (UINT8, [])])), ('t.empty', ARRAY, (FLOAT32, []))]
seeds = {
    'minimal': gguf_file(tensors, base_meta),
    'every_type': gguf_file(tensors, every_type),
    'aligned_64': gguf_file(tensors, base_meta + [('general.alignment', UINT32, 64)], alignment=64),
    'reversed_order': gguf_file(tensors[::-1], base_meta),
    'extra_tensor': gguf_file(tensors + [('extra', 1, [5], np.zeros(5, np.float16).tobytes())], base_meta),
    'no_tensors': gguf_file([], base_meta),
    'wrong_fingerprint': gguf_file(tensors, [('kiln.fingerprint', STRING, 'other')]),
    'version_2': gguf_file(tensors, base_meta, version=2),
    'empty': b'',
}
for name, data in seeds.items():
    with open(os.path.join(out, 'gguf', name + '.gguf'), 'wb') as f:
        f.write(data)

# --- .npy -------------------------------------------------------------------------------
arrays = {
    'f32_2d': rng.standard_normal((3, 4)).astype(np.float32),
    'f64_1d': rng.standard_normal(5),
    'f16_3d': rng.standard_normal((2, 2, 2)).astype(np.float16),
    'i8': np.arange(-4, 4, dtype=np.int8), 'u8': np.arange(8, dtype=np.uint8),
    'i16': np.arange(6, dtype=np.int16), 'u16': np.arange(6, dtype=np.uint16),
    'i32': np.arange(6, dtype=np.int32).reshape(2, 3), 'u32': np.arange(3, dtype=np.uint32),
    'i64': np.arange(6, dtype=np.int64), 'u64': np.arange(2, dtype=np.uint64),
    'bool': np.array([True, False, True]), 'scalar': np.float32(3.5),
    'empty': np.zeros((0, 3), np.float32), 'rank8': np.zeros((1,) * 8, np.float32),
    'rank9': np.zeros((1,) * 9, np.float32),
    'fortran': np.asfortranarray(rng.standard_normal((3, 2)).astype(np.float32)),
    'big_endian': np.arange(4, dtype='>f4'), 'complex': np.zeros(2, np.complex64),
}
for name, array in arrays.items():
    for version in (1, 2, 3):
        buffer = io.BytesIO()
        np.lib.format.write_array(buffer, np.asanyarray(array), version=(version, 0))
        with open(os.path.join(out, 'npy', f'{name}_v{version}.npy'), 'wb') as f:
            f.write(buffer.getvalue())

# --- plans ------------------------------------------------------------------------------
def plan(key, backend, stages, **extra):
    p = {'key': key, 'kernel': 'k0_' + key[:4], 'backend': backend, 'vector_lanes': 16,
         'parallel': True, 'outputs': 'by_stage', 'stages': stages}
    p.update(extra)
    return p


cpu = plan('0123456789abcdef', 'x86', [
    {'kind': 'conv', 'schedule': 'register_tiles', 'vector_lanes': 16, 'columns': 32, 'rows': 4,
     'row_dim': 1, 'parallel': True},
    {'kind': 'input', 'schedule': 'rolling', 'parallel': False}])
gpu = plan('fedcba9876543210', 'cuda', [
    {'kind': 'matmul', 'schedule': 'gpu_tiles', 'threads_x': 16, 'threads_y': 8}],
    outputs='gpu_tiles', output_threads_x=32, output_threads_y=4)
documents = {
    'cpu_and_gpu': {'format': 'kiln-plans', 'version': 1, 'plans': [cpu, gpu]},
    'empty': {'format': 'kiln-plans', 'version': 1, 'plans': []},
    'unknown_field': {'format': 'kiln-plans', 'version': 1, 'plans': [dict(cpu, extra=1)]},
    'wrong_type': {'format': 'kiln-plans', 'version': 1, 'plans': [dict(cpu, parallel='yes')]},
    'duplicate_key': {'format': 'kiln-plans', 'version': 1, 'plans': [cpu, cpu]},
    'version_2': {'format': 'kiln-plans', 'version': 2, 'plans': [cpu]},
}
for name, document in documents.items():
    with open(os.path.join(out, 'plans', name + '.json'), 'w') as f:
        json.dump(document, f, indent=1)
with open(os.path.join(out, 'plans', 'not_json.json'), 'w') as f:
    f.write('{"format": "kiln-plans", "plans": [')
print(f'corpus in {out}: ' + ', '.join(f'{sub} {len(os.listdir(os.path.join(out, sub)))}'
                                      for sub in ('onnx', 'gguf', 'npy', 'plans')))
