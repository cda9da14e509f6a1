#!/usr/bin/python3
"""check_concat.py - concatenations inside kernels, end to end.

On CPU targets a concatenation along an outer axis that feeds more work in its kernel (DenseNet:
concatenation, batch norm, ReLU in one kernel) is built as one copy per input into its slice
(KernelAlgorithm.cpp, concat), vectorized with guarded tails; one that is the kernel's output
keeps the select form. One model holds a branch per case: DenseNet-like (six inputs, 14x14,
per-channel scale and shift, ReLU), odd widths and batch 2 (vector tails), a concatenation
along the height axis, inputs computed in the same kernel and in others, and a plain
concatenation as a kernel output; and parts computed by kernels of their own, written in place
into the concatenation (kiln-concat-in-place). Each output must match numpy within
1e-6 * max(1, max |ref|).
Host and, where qemu is installed, aarch64.
usage: check_concat.py KILN WORK_DIR
"""
import os
import sys

import numpy as np
from onnx import helper

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
import end_to_end  # noqa: E402

# name: (batch, channels of each input, height, width, axis, epilogue)
CASES = {
    'dense_like': (1, [64, 32, 32, 32, 32, 32], 14, 14, 1, True),
    'odd_width_batch2': (2, [3, 5, 7], 9, 13, 1, True),
    'wide_rows': (1, [16, 24], 5, 61, 1, True),
    'along_height': (1, [4, 4], 5, 16, 2, True),
    'output_only': (1, [8, 16, 8], 7, 9, 1, False),
}


def main():
    kiln, work = sys.argv[1], sys.argv[2]
    rng = np.random.default_rng(3)
    model = end_to_end.BranchModel(work)
    for name, (n, channels, h, w, axis, epilogue) in CASES.items():
        total = sum(channels)
        # The branch input holds every part side by side along the axis; each part is a
        # Slice of it, passed through an op of its own (so some parts come from other kernels
        # and some are computed in the concatenation's kernel).
        shape = [n, total, h, w] if axis == 1 else [n, channels[0], h * len(channels), w]
        x = rng.uniform(-1, 1, shape).astype(np.float32)
        nodes, parts, refs, start = [], [], [], 0
        for i, c in enumerate(channels):
            extent = c if axis == 1 else h
            model.initializer(f'{name}_s{i}', np.array([start], np.int64))
            model.initializer(f'{name}_e{i}', np.array([start + extent], np.int64))
            model.initializer(f'{name}_a{i}', np.array([axis], np.int64))
            nodes.append(helper.make_node('Slice', [f'{name}_x', f'{name}_s{i}', f'{name}_e{i}',
                                                    f'{name}_a{i}'], [f'{name}_p{i}']))
            piece = np.take(x, range(start, start + extent), axis=axis).astype(np.float64)
            op = ['Sigmoid', 'Neg', 'Abs'][i % 3]
            nodes.append(helper.make_node(op, [f'{name}_p{i}'], [f'{name}_q{i}']))
            refs.append(1 / (1 + np.exp(-piece)) if op == 'Sigmoid' else -piece if op == 'Neg'
                        else np.abs(piece))
            parts.append(f'{name}_q{i}')
            start += extent
        joined = np.concatenate(refs, axis=axis)
        if epilogue:
            scale = rng.uniform(0.5, 1.5, [1, joined.shape[1], 1, 1]).astype(np.float32)
            shift = rng.uniform(-0.5, 0.5, [1, joined.shape[1], 1, 1]).astype(np.float32)
            model.initializer(f'{name}_scale', scale)
            model.initializer(f'{name}_shift', shift)
            nodes += [helper.make_node('Concat', parts, [f'{name}_c'], axis=axis),
                      helper.make_node('Mul', [f'{name}_c', f'{name}_scale'], [f'{name}_m']),
                      helper.make_node('Add', [f'{name}_m', f'{name}_shift'], [f'{name}_b']),
                      helper.make_node('Relu', [f'{name}_b'], [f'{name}_y'])]
            ref = np.maximum(joined * scale + shift, 0)
        else:
            nodes.append(helper.make_node('Concat', parts, [f'{name}_y'], axis=axis))
            ref = joined
        model.branch(name, x, nodes, ref)
    # In place (kiln-concat-in-place): parts computed by kernels of their own (3x3 max pools,
    # one through a flattened 1x1 convolution), concatenated, read by a 2x2 max pool: the
    # producers write their slices of the concatenation and no copy kernel runs.
    x = rng.uniform(-1, 1, [1, 24, 9, 9]).astype(np.float32)
    weight = rng.uniform(-0.5, 0.5, [16, 8, 1, 1]).astype(np.float32)
    model.initializer('in_place_w', weight)
    nodes, refs = [], []
    windows = np.lib.stride_tricks.sliding_window_view
    for i, (start, stop) in enumerate([(0, 8), (8, 16), (16, 24)]):
        for suffix, value in (('s', start), ('e', stop), ('a', 1)):
            model.initializer(f'in_place_{suffix}{i}', np.array([value], np.int64))
        nodes.append(helper.make_node('Slice', ['in_place_x', f'in_place_s{i}', f'in_place_e{i}',
                                                f'in_place_a{i}'], [f'in_place_p{i}']))
        piece = x[:, start:stop].astype(np.float64)
        if i == 1:
            nodes.append(helper.make_node('Conv', [f'in_place_p{i}', 'in_place_w'],
                                          [f'in_place_q{i}']))
            refs.append(np.einsum('oc,nchw->nohw', weight[:, :, 0, 0].astype(np.float64), piece))
        else:
            nodes.append(helper.make_node('MaxPool', [f'in_place_p{i}'], [f'in_place_q{i}'],
                                          kernel_shape=[3, 3], pads=[1, 1, 1, 1]))
            padded = np.pad(piece, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
            refs.append(windows(padded, (3, 3), axis=(2, 3)).max(axis=(4, 5)))
    nodes += [helper.make_node('Concat', ['in_place_q0', 'in_place_q1', 'in_place_q2'],
                               ['in_place_c'], axis=1),
              helper.make_node('MaxPool', ['in_place_c'], ['in_place_y'], kernel_shape=[2, 2],
                               strides=[2, 2])]
    joined = np.concatenate(refs, axis=1)
    ref = windows(joined, (2, 2), axis=(2, 3))[:, :, ::2, ::2].max(axis=(4, 5))
    model.branch('in_place', x, nodes, ref)
    path = model.save('concat')

    tally = end_to_end.Tally()
    for target, runner in end_to_end.targets():
        if target not in ('host', 'aarch64'):
            continue
        exe = os.path.join(work, f'concat_{target}')
        text = end_to_end.compile_model(kiln, path, exe, '--target', target)
        tally.check(text.count('kiln.concat') >= len(CASES) + 1,
                    f'{target}: every branch keeps its concatenation')
        # (output_only's parts come from kernels of their own too: it is in place as well.)
        tally.check(any('kiln.in_place' in line and '-> tensor<1x32x9x9xf32>' in line
                        for line in text.splitlines()),
                    f'{target}: the in_place branch concatenates in place')
        end_to_end.run_and_compare(tally, target, runner, exe, model.data, model.refs, 1e-6)
    return tally.finish()


if __name__ == '__main__':
    sys.exit(main())
