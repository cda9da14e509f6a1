#!/usr/bin/python3
"""check_dilated.py - convolutions whose padding is much of their work, end to end.

kiln-split-conv-borders (dialects/kiln/Transforms/SplitConvBorders.cpp) drops the taps of a
padded convolution that only read padding: a dilated 3x3 whose off-centre taps always fall
outside the map becomes a 1x1, and one on a map not much larger than its dilation is split
into pad-free pieces over the input slices they read, concatenated. One model holds a branch
per case: DeepLabV3's ASPP rates on small maps (one piece and nine), grouped and depthwise
dilated windows, a stride-2 dilated window, asymmetric pads, non-square maps, a 5x5 with
dilation 6, batch 2 and a Relu epilogue, plus a 3x3 with pad 1 and a depthwise 5x5 on a
7x7 map (pieces too small to pay for themselves) that must keep their borders.
Each output must match a float64 direct convolution within 1e-5 * max(1, max |reference|);
the planned IR must show that no split convolution kept padding. Host and, where qemu is
installed, aarch64.
usage: check_dilated.py KILN WORK_DIR
"""
import os
import re
import sys

import numpy as np
from onnx import helper

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
import end_to_end  # noqa: E402

# name: (batch, in channels, out channels, groups, height, width, kernel, stride,
#        pads (top, left, bottom, right), dilation, relu, split expected)
CASES = {
    'aspp36_one_piece': (1, 16, 8, 1, 7, 7, 3, 1, (12, 12, 12, 12), 12, True, True),
    'aspp12_pieces': (1, 256, 128, 1, 16, 16, 3, 1, (10, 10, 10, 10), 10, True, True),
    'aspp_non_square': (2, 128, 96, 1, 17, 25, 3, 1, (8, 8, 8, 8), 8, False, True),
    'grouped_dilated': (1, 256, 256, 4, 16, 16, 3, 1, (10, 10, 10, 10), 10, False, True),
    'depthwise_one_piece': (1, 12, 12, 12, 6, 9, 3, 1, (9, 9, 9, 9), 9, True, True),
    'strided_dilated': (1, 192, 192, 1, 21, 21, 3, 2, (12, 12, 12, 12), 12, False, True),
    'asymmetric_pads': (1, 256, 192, 1, 13, 16, 3, 1, (6, 0, 12, 12), 6, False, True),
    'window5_d3': (1, 96, 128, 1, 17, 17, 5, 1, (12, 12, 12, 12), 6, False, True),
    'border_kept': (1, 8, 8, 1, 16, 16, 3, 1, (1, 1, 1, 1), 1, True, False),
    'small_pieces_kept': (1, 48, 48, 48, 7, 7, 5, 1, (2, 2, 2, 2), 1, False, False),
}


def reference(x, w, b, groups, stride, pads, dilation, relu):
    n, c, h, wd = x.shape
    f, cg, k, _ = w.shape
    top, left, bottom, right = pads
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (top, bottom), (left, right)))
    span = dilation * (k - 1) + 1
    ho = (h + top + bottom - span) // stride + 1
    wo = (wd + left + right - span) // stride + 1
    y = np.zeros((n, f, ho, wo)) + b[None, :, None, None]
    fg = f // groups
    for g in range(groups):
        for ky in range(k):
            for kx in range(k):
                window = xp[:, g * cg:(g + 1) * cg, ky * dilation:ky * dilation + stride * ho:stride,
                            kx * dilation:kx * dilation + stride * wo:stride]
                y[:, g * fg:(g + 1) * fg] += np.einsum('nchw,fc->nfhw', window,
                                                      w[g * fg:(g + 1) * fg, :, ky, kx])
    return np.maximum(y, 0) if relu else y


def main():
    kiln, work = sys.argv[1], sys.argv[2]
    rng = np.random.default_rng(11)
    model = end_to_end.BranchModel(work)
    for name, (n, c, f, groups, h, wd, k, stride, pads, dilation, relu, _) in CASES.items():
        x = rng.uniform(-1, 1, (n, c, h, wd)).astype(np.float32)
        w = (rng.standard_normal((f, c // groups, k, k)) / k).astype(np.float32)
        b = rng.uniform(-0.5, 0.5, f).astype(np.float32)
        model.initializer(f'{name}_w', w)
        model.initializer(f'{name}_b', b)
        conv_out = f'{name}_c' if relu else f'{name}_y'
        nodes = [helper.make_node('Conv', [f'{name}_x', f'{name}_w', f'{name}_b'], [conv_out],
                                  group=groups, kernel_shape=[k, k], strides=[stride, stride],
                                  pads=[pads[0], pads[1], pads[2], pads[3]],
                                  dilations=[dilation, dilation])]
        if relu:
            nodes.append(helper.make_node('Relu', [conv_out], [f'{name}_y']))
        model.branch(name, x, nodes, reference(x, w.astype(np.float64), b.astype(np.float64),
                                               groups, stride, pads, dilation, relu))
    path = model.save('dilated')

    tally = end_to_end.Tally()
    for target, runner in end_to_end.targets():
        if target not in ('host', 'aarch64'):
            continue
        exe = os.path.join(work, f'dilated_{target}')
        text = end_to_end.compile_model(kiln, path, exe, '--target', target)
        padded = len(re.findall(r'pads = array<i64: (?!0, 0, 0, 0>)', text))
        kept = sum(1 for case in CASES.values() if not case[-1])
        tally.check(padded == kept, f'{target}: {padded} padded convolutions left, '
                    f'{kept} expected (the cases that keep their border)')
        end_to_end.run_and_compare(tally, target, runner, exe, model.data, model.refs, 1e-5)
    return tally.finish()


if __name__ == '__main__':
    sys.exit(main())
