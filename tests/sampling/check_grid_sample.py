#!/usr/bin/python3
"""check_grid_sample.py - GridSample in every mode, padding and corner alignment, against
onnxruntime.

One model holds 18 GridSample nodes (nearest, bilinear, bicubic x zeros, border, reflection x
align_corners 0, 1) on one input and one grid whose points reach past [-1, 1] (so border
clamping and repeated reflection are exercised) and land exactly on pixel centres and
half-way points (rounding ties). Each output must match onnxruntime's within
1e-4 * max(1, max |reference|). Host, and aarch64 under qemu where installed.
usage: check_grid_sample.py KILN WORK_DIR
"""
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
from onnx import helper, TensorProto

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
import end_to_end  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


def main():
    kiln, work = sys.argv[1], os.path.abspath(sys.argv[2])
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    rng = np.random.default_rng(11)
    x = rng.uniform(-1, 1, [2, 3, 5, 7]).astype(np.float32)
    grid = rng.uniform(-2.7, 2.7, [2, 4, 6, 2]).astype(np.float32)
    # Exact pixel centres and half-way points of both alignments.
    grid[0, 0, :, 0] = np.array([-1, -5 / 7, 0, 1 / 7, 2 / 6, 1], np.float32)
    grid[0, 1, :, 1] = np.array([-1, -0.5, -0.25, 0, 0.5, 1], np.float32)
    nodes, outputs, names = [], [], []
    for mode in ('nearest', 'bilinear', 'bicubic'):
        for padding in ('zeros', 'border', 'reflection'):
            for align in (0, 1):
                name = f'{mode}_{padding}_{align}'
                nodes.append(helper.make_node('GridSample', ['x', 'grid'], [name], mode=mode,
                                              padding_mode=padding, align_corners=align))
                outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, [2, 3, 4, 6]))
                names.append(name)
    graph = helper.make_graph(
        nodes, 'grid_sample', [helper.make_tensor_value_info('x', TensorProto.FLOAT, list(x.shape)),
                               helper.make_tensor_value_info('grid', TensorProto.FLOAT, list(grid.shape))],
        outputs)
    path = os.path.join(work, 'grid_sample.onnx')
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)]), path)
    inputs = {}
    for name, value in (('x', x), ('grid', grid)):
        inputs[name] = os.path.join(work, f'{name}.npy')
        np.save(inputs[name], value)
    ort_out = os.path.join(work, 'ort')
    subprocess.run(['node', os.path.join(ROOT, 'tests', 'lib', 'ort_reference.js'), path, ort_out,
                    *[f'{k}={v}' for k, v in inputs.items()]], check=True, capture_output=True)
    tally = end_to_end.Tally()
    for target, runner in end_to_end.targets():
        if target not in ('host', 'aarch64'):
            continue
        exe = os.path.join(work, f'grid_sample_{target}')
        end_to_end.compile_model(kiln, path, exe, '--target', target)
        out = exe + '.out'
        args = [a for k, v in inputs.items() for a in ('--input', f'{k}={v}')]
        subprocess.run(runner + [exe, *args, '--output-dir', out], check=True, capture_output=True)
        for name in names:
            got, ref = np.load(os.path.join(out, f'{name}.npy')), np.load(os.path.join(ort_out, f'{name}.npy'))
            error = np.abs(got - ref).max()
            tally.check(got.shape == ref.shape and error <= 1e-4 * max(1.0, np.abs(ref).max()),
                        f'{target} {name}: max error {error:.3g}')
    return tally.finish()


if __name__ == '__main__':
    sys.exit(main())
