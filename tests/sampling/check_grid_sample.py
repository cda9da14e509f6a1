#!/usr/bin/python3
"""check_grid_sample.py - GridSample in every mode, padding and corner alignment, against
onnxruntime.

One model holds 18 GridSample nodes (nearest, bilinear, bicubic x zeros, border, reflection x
align_corners 0, 1) on one input and one grid whose points reach past [-1, 1] (so border
clamping and repeated reflection are exercised) and land exactly on pixel centres and
half-way points (rounding ties). Each output must match onnxruntime's within
1e-4 * max(1, max |reference|). Host, and aarch64 under qemu where installed. DFT in its
modes against numpy's FFT, RoiAlign in its modes against onnxruntime, on the host.
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
    # RoiAlign (a host op) against onnxruntime: adaptive and fixed sampling, avg and max,
    # both coordinate modes, a spatial scale, boxes partly outside the map.
    feature = rng.uniform(-1, 1, [2, 3, 12, 10]).astype(np.float32)
    corners = rng.uniform(-4, 22, [6, 2]).astype(np.float32)
    boxes = np.concatenate([corners, corners + rng.uniform(1, 12, [6, 2]).astype(np.float32)], axis=1)
    batch_of = np.array([0, 1, 1, 0, 1, 0], np.int64)
    roi_nodes, roi_outputs = [], []
    for name, attributes in (('avg_adaptive', dict(spatial_scale=0.5, output_height=2, output_width=3)),
                             ('max_fixed', dict(mode='max', sampling_ratio=2,
                                                coordinate_transformation_mode='output_half_pixel')),
                             ('avg_fixed', dict(sampling_ratio=3, output_height=3, output_width=4))):
        roi_nodes.append(helper.make_node('RoiAlign', ['feature', 'boxes', 'batch_of'], [name],
                                          **attributes))
        size = [attributes.get('output_height', 1), attributes.get('output_width', 1)]
        roi_outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, [6, 3] + size))
    roi_graph = helper.make_graph(roi_nodes, 'roi_align', [
        helper.make_tensor_value_info('feature', TensorProto.FLOAT, list(feature.shape)),
        helper.make_tensor_value_info('boxes', TensorProto.FLOAT, [6, 4]),
        helper.make_tensor_value_info('batch_of', TensorProto.INT64, [6])], roi_outputs)
    roi_path = os.path.join(work, 'roi_align.onnx')
    onnx.save(helper.make_model(roi_graph, opset_imports=[helper.make_opsetid('', 17)]), roi_path)
    roi_inputs = {}
    for name, value in (('feature', feature), ('boxes', boxes), ('batch_of', batch_of)):
        roi_inputs[name] = os.path.join(work, f'roi_{name}.npy')
        np.save(roi_inputs[name], value)
    subprocess.run(['node', os.path.join(ROOT, 'tests', 'lib', 'ort_reference.js'), roi_path,
                    os.path.join(work, 'roi_ort'), *[f'{k}={v}' for k, v in roi_inputs.items()]],
                   check=True, capture_output=True)
    exe = os.path.join(work, 'roi_align')
    subprocess.run([kiln, 'compile', roi_path, '-o', exe], check=True, capture_output=True)
    subprocess.run([exe, *[a for k, v in roi_inputs.items() for a in ('--input', f'{k}={v}')],
                    '--output-dir', exe + '.out'], check=True, capture_output=True)
    for node in roi_nodes:
        got = np.load(os.path.join(exe + '.out', f'{node.output[0]}.npy'))
        ref = np.load(os.path.join(work, 'roi_ort', f'{node.output[0]}.npy'))
        error = np.abs(got - ref).max()
        tally.check(got.shape == ref.shape and error <= 1e-5, f'roi_align {node.output[0]}: max error {error:.3g}')

    # DFT (cosine and sine products): forward and inverse, real and complex signals, along
    # axis 1 and 2, onesided, dft_length padding and truncating, against numpy's FFT.
    signal = rng.uniform(-1, 1, [2, 12, 5, 2]).astype(np.float32)
    real = signal[..., :1]
    complex_signal = signal[..., 0].astype(np.float64) + 1j * signal[..., 1]
    cases = {  # name: (input, attributes, dft_length, reference)
        'forward': (real, {'axis': 1}, None, np.fft.fft(real[..., 0], axis=1)),
        'axis2_onesided': (real, {'axis': 2, 'onesided': 1}, None, np.fft.rfft(real[..., 0], axis=2)),
        'complex_inverse': (signal, {'axis': 1, 'inverse': 1}, None, np.fft.ifft(complex_signal, axis=1)),
        'padded': (signal, {'axis': 2}, 8, np.fft.fft(complex_signal, n=8, axis=2)),
        'truncated': (real, {'axis': 1}, 7, np.fft.fft(real[..., 0], n=7, axis=1)),
    }
    for name, (value, attributes, length, ref) in cases.items():
        inputs = [helper.make_tensor_value_info('s', TensorProto.FLOAT, list(value.shape))]
        node_inputs, inits = ['s'], []
        if length:
            inits.append(onnx.numpy_helper.from_array(np.array(length, np.int64), 'n'))
            node_inputs.append('n')
        expected = np.stack([ref.real, ref.imag], axis=-1)
        graph = helper.make_graph(
            [helper.make_node('DFT', node_inputs, ['y'], **attributes)], name, inputs,
            [helper.make_tensor_value_info('y', TensorProto.FLOAT, list(expected.shape))], inits)
        dft_path = os.path.join(work, f'dft_{name}.onnx')
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)]), dft_path)
        exe = os.path.join(work, f'dft_{name}')
        np.save(exe + '_s.npy', value)
        subprocess.run([kiln, 'compile', dft_path, '-o', exe], check=True, capture_output=True)
        subprocess.run([exe, '--input', f's={exe}_s.npy', '--output-dir', exe + '.out'], check=True,
                       capture_output=True)
        got = np.load(os.path.join(exe + '.out', 'y.npy'))
        error = np.abs(got - expected).max()
        tally.check(got.shape == expected.shape and error <= 1e-4 * max(1.0, np.abs(expected).max()),
                    f'dft {name}: max error {error:.3g}')
    return tally.finish()


if __name__ == '__main__':
    sys.exit(main())
