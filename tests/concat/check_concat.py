#!/usr/bin/python3
"""check_concat.py - concatenations inside kernels, end to end.

On CPU targets a concatenation along an outer axis that feeds more work in its kernel (DenseNet:
concatenation, batch norm, ReLU in one kernel) is built as one copy per input into its slice
(KernelAlgorithm.cpp, concat), vectorized with guarded tails; one that is the kernel's output
keeps the select form. One model holds a branch per case: DenseNet-like (six inputs, 14x14,
per-channel scale and shift, ReLU), odd widths and batch 2 (vector tails), a concatenation
along the height axis, inputs computed in the same kernel and in others, and a plain
concatenation as a kernel output. Each output must match numpy within 1e-6 * max(1, max |ref|).
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
    path = model.save('concat')

    tally = end_to_end.Tally()
    for target, runner in end_to_end.targets():
        if target not in ('host', 'aarch64'):
            continue
        exe = os.path.join(work, f'concat_{target}')
        text = end_to_end.compile_model(kiln, path, exe, '--target', target)
        tally.check(text.count('kiln.concat') >= len(CASES),
                    f'{target}: every branch keeps its concatenation')
        end_to_end.run_and_compare(tally, target, runner, exe, model.data, model.refs, 1e-6)
    return tally.finish()


if __name__ == '__main__':
    sys.exit(main())
