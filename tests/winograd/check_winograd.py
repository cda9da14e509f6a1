#!/usr/bin/python3
"""check_winograd.py - 3x3 stride-1 convolutions through kiln.winograd_conv, end to end.

One model holds several independent convolutions (one input and one output each) chosen to
cover the kernel's edge cases: F(4x4) on maps that split into whole tiles (56x56, 28x28) and
on ones that do not (30x19, unpadded and asymmetrically padded; 14x14), F(2x2) on a 7x7
map (a partial last tile), channel counts that are not multiples of the vector or
register tile (40 -> 48), batch 2, and a bias + Relu + residual Add epilogue. It is compiled
for the host (and for aarch64 under qemu where installed), the planned IR must show each
convolution as kiln.winograd_conv with the expected tile, and every output must match a
float64 direct convolution within 2e-5 * max(1, max |reference|) (float32 rounding of the
transforms; the model tests allow 1e-4). With --no-winograd the IR must keep kiln.conv.
usage: check_winograd.py KILN WORK_DIR
"""
import os
import re
import sys

import numpy as np
from onnx import helper

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
import end_to_end  # noqa: E402

# name: (batch, in channels, out channels, height, width, pads [top, left, bottom, right],
#        expected tile, epilogue)
CASES = {
    'map56': (1, 64, 64, 56, 56, [1, 1, 1, 1], 4, 'relu'),
    'map28': (1, 128, 128, 28, 28, [1, 1, 1, 1], 4, 'residual'),
    'odd': (2, 40, 48, 30, 19, [0, 1, 1, 2], 4, 'none'),
    'valid': (1, 32, 32, 20, 18, [0, 0, 0, 0], 4, 'none'),
    'map14': (1, 256, 256, 14, 14, [1, 1, 1, 1], 4, 'relu'),
    'map7': (1, 512, 512, 7, 7, [1, 1, 1, 1], 2, 'none'),
}


def direct_conv(x, w, b, pads):
    """float64 reference: NCHW input, [F, C, 3, 3] weight."""
    top, left, bottom, right = pads
    xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (top, bottom), (left, right)))
    n, c, h, wd = xp.shape
    oh, ow = h - 2, wd - 2
    y = np.zeros((n, w.shape[0], oh, ow))
    for i in range(3):
        for j in range(3):
            patch = xp[:, :, i:i + oh, j:j + ow]
            y += np.einsum('nchw,fc->nfhw', patch, w[:, :, i, j].astype(np.float64))
    return y + b.astype(np.float64)[None, :, None, None]


def build_model(work, rng):
    model = end_to_end.BranchModel(work)
    for name, (n, c, f, h, w, pads, _, epilogue) in CASES.items():
        x = rng.uniform(-1, 1, (n, c, h, w)).astype(np.float32)
        weight = (rng.standard_normal((f, c, 3, 3)) * np.sqrt(2.0 / (9 * c))).astype(np.float32)
        bias = rng.uniform(-0.5, 0.5, f).astype(np.float32)
        model.initializer(f'{name}_w', weight)
        model.initializer(f'{name}_b', bias)
        conv_out = f'{name}_conv' if epilogue != 'none' else f'{name}_y'
        nodes = [helper.make_node('Conv', [f'{name}_x', f'{name}_w', f'{name}_b'], [conv_out],
                                  name=f'{name}_conv', kernel_shape=[3, 3], pads=pads)]
        ref = direct_conv(x, weight, bias, pads)
        if epilogue == 'relu':
            nodes.append(helper.make_node('Relu', [conv_out], [f'{name}_y']))
            ref = np.maximum(ref, 0)
        elif epilogue == 'residual':
            nodes.append(helper.make_node('Add', [conv_out, f'{name}_x'], [f'{name}_y']))
            ref = ref + x
        model.branch(name, x, nodes, ref)
    return model.save('winograd'), model.data, model.refs


def main():
    kiln, work = sys.argv[1], sys.argv[2]
    model, data, refs = build_model(work, np.random.default_rng(7))
    tally = end_to_end.Tally()

    # --no-winograd keeps every convolution direct.
    text = end_to_end.compile_model(kiln, model, os.path.join(work, 'direct'), '--no-winograd')
    tally.check('winograd_conv' not in text and text.count('kiln.conv ') == len(CASES),
                '--no-winograd: every convolution stays kiln.conv')

    for target, runner in end_to_end.targets():
        exe = os.path.join(work, f'winograd_{target}')
        text = end_to_end.compile_model(kiln, model, exe, '--target', target)
        for name, case in CASES.items():
            if target in end_to_end.GPU_TARGETS:
                tally.check('winograd_conv' not in text,
                            f'{target} {name}: a GPU target keeps the convolution direct')
                continue
            # The conv's weight is named after its initializer; find its winograd_conv.
            found = re.search(r'kiln\.winograd_conv[^\n]*tile = (\d)[^\n]*\(tensor<'
                              + r'x'.join(str(d) for d in (case[0], case[1], case[3], case[4])),
                              text)
            tally.check(found is not None and int(found.group(1)) == case[6],
                        f'{target} {name}: kiln.winograd_conv with tile {case[6]}')
        end_to_end.run_and_compare(tally, target, runner, exe, data, refs, 2e-5)
    return tally.finish()


if __name__ == '__main__':
    sys.exit(main())
