#!/usr/bin/python3
"""check_depthwise.py - depthwise convolutions through each of their input paths, end to end.

A depthwise convolution reads its padded input one of three ways (KernelAlgorithm.cpp): a
bordered copy per channel where input rows are 16 wide or more (stride 1 or 2, read with dense
stride-2 vector loads when strided; 8 wide or more when strided), x phases where a strided
one has narrower rows, and one whole bordered copy where a stride-1 one has narrower rows; an unpadded one reads its input
directly. A per-channel copy over 32 KB is made a few rows at a time into a rolling buffer. One model holds a branch per path, with odd sizes (partial vectors and row tiles),
batch 2, a 5x5 window, a dilated window and a Clip epilogue. Each output must match a float64
direct convolution within 1e-5 * max(1, max |reference|). Compiled for the host, for AVX2
(8-lane register tiles, whose aligned loads from a per-channel copy once faulted) when the host
runs it, and, where qemu is installed, aarch64.
usage: check_depthwise.py KILN WORK_DIR
"""
import os
import sys

import numpy as np
from onnx import helper

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
import end_to_end  # noqa: E402

# name: (batch, channels, height, width, window, stride, pad, dilation, clip)
CASES = {
    'plane_s1': (1, 24, 28, 28, 3, 1, 1, 1, True),     # per-channel copy, stride 1
    'plane_s2': (1, 20, 56, 57, 3, 2, 1, 1, True),     # per-channel copy, stride 2, odd width
    'plane_s2_narrow_out': (2, 12, 28, 28, 3, 2, 1, 1, False),  # 8-lane tiles on the copy
    'plane_5x5': (1, 8, 33, 31, 5, 2, 2, 1, False),    # 5x5 window, odd sizes
    'plane_dilated': (1, 8, 20, 24, 3, 1, 2, 2, False),
    'plane_s2_8wide': (1, 16, 14, 14, 3, 2, 1, 1, True),  # per-channel copy, half vectors
    'rolling_s2': (1, 4, 112, 101, 3, 2, 1, 1, True),  # plane over 32 KB: rolling rows
    'rolling_s1': (1, 3, 97, 90, 3, 1, 1, 1, False),
    'rolling_5x5': (2, 2, 90, 95, 5, 1, 2, 1, False),
    'phases': (1, 16, 7, 6, 3, 2, 1, 1, True),         # x phases: strided, rows under 8
    'whole_copy': (1, 16, 14, 13, 3, 1, 1, 1, True),   # one bordered copy: stride 1, narrow
    'unpadded': (1, 16, 30, 34, 3, 2, 0, 1, False),    # no copy at all
}


def reference(x, w, b, stride, pad, dilation, clip):
    n, c, h, wd = x.shape
    k = w.shape[-1]
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    span = dilation * (k - 1) + 1
    ho, wo = (h + 2 * pad - span) // stride + 1, (wd + 2 * pad - span) // stride + 1
    y = np.zeros((n, c, ho, wo)) + b[None, :, None, None]
    for ky in range(k):
        for kx in range(k):
            window = xp[:, :, ky * dilation:ky * dilation + stride * ho:stride,
                        kx * dilation:kx * dilation + stride * wo:stride]
            y += window * w[None, :, 0, ky, kx, None, None]
    return np.clip(y, 0, 6) if clip else y


def main():
    kiln, work = sys.argv[1], sys.argv[2]
    rng = np.random.default_rng(5)
    model = end_to_end.BranchModel(work)
    model.initializer('lo', np.array(0, np.float32))
    model.initializer('hi', np.array(6, np.float32))
    for name, (n, c, h, wd, k, stride, pad, dilation, clip) in CASES.items():
        x = rng.uniform(-1, 1, (n, c, h, wd)).astype(np.float32)
        w = (rng.standard_normal((c, 1, k, k)) / k).astype(np.float32)
        b = rng.uniform(-0.5, 0.5, c).astype(np.float32)
        model.initializer(f'{name}_w', w)
        model.initializer(f'{name}_b', b)
        conv_out = f'{name}_c' if clip else f'{name}_y'
        nodes = [helper.make_node('Conv', [f'{name}_x', f'{name}_w', f'{name}_b'], [conv_out],
                                  group=c, kernel_shape=[k, k], strides=[stride, stride],
                                  pads=[pad] * 4, dilations=[dilation, dilation])]
        if clip:
            nodes.append(helper.make_node('Clip', [conv_out, 'lo', 'hi'], [f'{name}_y']))
        model.branch(name, x, nodes, reference(x, w.astype(np.float64), b.astype(np.float64),
                                               stride, pad, dilation, clip))
    path = model.save('depthwise')

    tally = end_to_end.Tally()
    targets = list(end_to_end.targets())
    if 'avx2' in open('/proc/cpuinfo').read():
        targets.insert(1, ('x86-64-avx2', []))
    for target, runner in targets:
        exe = os.path.join(work, f'depthwise_{target}')
        text = end_to_end.compile_model(kiln, path, exe, '--target', target)
        tally.check(text.count('groups = ') >= len(CASES),
                    f'{target}: every branch is a grouped convolution')
        end_to_end.run_and_compare(tally, target, runner, exe, model.data, model.refs, 1e-5)
    return tally.finish()


if __name__ == '__main__':
    sys.exit(main())
