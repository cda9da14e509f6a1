#!/usr/bin/python3
"""check_layouts.py - weights and activations kiln lays out at compile time, end to end.

One model holds independent branches (one input and one output each) that take the layout
passes' paths: matmuls whose constant weights are stored in strips of 16 columns
(kiln-pack-matmul-weights: a skinny 64-row product, batch axes with a row count that is not a
multiple of the register tile, a bias + Relu epilogue, 100 columns padded to whole 32-column
tiles with the last tile guarded), a batch-1 row that keeps the
row-major layout, pointwise convolutions run on one flat row of pixels
(kiln-flatten-pointwise-kernels: a wide map with a bias and Relu, a narrow map with strip-packed
weights, batch 2, a residual add of a computed tensor in the epilogue) and one whose rank-1
Add operand must keep it unflattened, and 1x7 / 7x1 windows on rows 17 wide, which
kiln-pack-conv-weights packs for tiles across output channels, as it does a grouped 3x3
convolution with groups of 16 filters. The planned IR
must show each layout, and every output must match float64 numpy within
1e-5 * max(1, max |reference|). Compiled for the host and, where qemu is installed, aarch64.
usage: check_layouts.py KILN WORK_DIR
"""
import os
import re
import sys

import numpy as np
from onnx import helper

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
import end_to_end  # noqa: E402


def main():
    kiln, work = sys.argv[1], sys.argv[2]
    rng = np.random.default_rng(11)
    model = end_to_end.BranchModel(work)

    def branch(name, x, make, ref):
        model.branch(name, x, make(f'{name}_x', f'{name}_y'), ref)

    def weight(name, *shape, scale=None):
        w = rng.standard_normal(shape).astype(np.float32) * (scale or 1 / np.sqrt(shape[0]))
        model.initializer(name, w.astype(np.float32))
        return w.astype(np.float64)

    # Matmuls.
    x = rng.uniform(-1, 1, (64, 256)).astype(np.float32)
    w = weight('skinny_w', 256, 512)
    branch('skinny', x, lambda i, o: [helper.make_node('MatMul', [i, 'skinny_w'], [o])], x @ w)
    x = rng.uniform(-1, 1, (2, 13, 96)).astype(np.float32)
    w, b = weight('batched_w', 96, 48), weight('batched_b', 48, scale=1.0)
    branch('batched', x, lambda i, o: [helper.make_node('MatMul', [i, 'batched_w'], ['bm']),
                                       helper.make_node('Add', ['bm', 'batched_b'], ['ba']),
                                       helper.make_node('Relu', ['ba'], [o])],
           np.maximum(x @ w + b, 0))
    x = rng.uniform(-1, 1, (3, 17, 120)).astype(np.float32)
    w, b = weight('padded_w', 120, 100), weight('padded_b', 100, scale=1.0)
    branch('padded', x, lambda i, o: [helper.make_node('MatMul', [i, 'padded_w'], ['pm']),
                                      helper.make_node('Add', ['pm', 'padded_b'], [o])],
           x @ w + b)
    x = rng.uniform(-1, 1, (1, 200)).astype(np.float32)
    w = weight('row_w', 200, 64)
    branch('row', x, lambda i, o: [helper.make_node('MatMul', [i, 'row_w'], [o])], x @ w)

    # Pointwise convolutions.
    def conv(x, w, b=None):
        y = np.einsum('nchw,fc->nfhw', x.astype(np.float64), w[:, :, 0, 0])
        return y if b is None else y + b[None, :, None, None]
    x = rng.uniform(-1, 1, (2, 24, 20, 28)).astype(np.float32)
    w, b = weight('wide_w', 40, 24, 1, 1, scale=0.2), weight('wide_b', 40, scale=1.0)
    branch('wide', x, lambda i, o: [helper.make_node('Conv', [i, 'wide_w', 'wide_b'], ['wc']),
                                    helper.make_node('Relu', ['wc'], [o])],
           np.maximum(conv(x, w, b), 0))
    x = rng.uniform(-1, 1, (1, 48, 14, 14)).astype(np.float32)
    w = weight('narrow_w', 64, 48, 1, 1, scale=0.2)
    branch('narrow', x, lambda i, o: [helper.make_node('Conv', [i, 'narrow_w'], [o])], conv(x, w))
    x = rng.uniform(-1, 1, (1, 48, 7, 7)).astype(np.float32)
    w1, w2 = weight('res_w1', 32, 48, 1, 1, scale=0.2), weight('res_w2', 32, 32, 1, 1, scale=0.2)
    a = conv(x, w1)
    branch('residual', x, lambda i, o: [helper.make_node('Conv', [i, 'res_w1'], ['ra']),
                                        helper.make_node('Relu', ['ra'], ['rr']),
                                        helper.make_node('Conv', ['rr', 'res_w2'], ['rc2']),
                                        helper.make_node('Add', ['rc2', 'ra'], [o])],
           conv(np.maximum(a, 0), w2) + a)
    x = rng.uniform(-1, 1, (1, 16, 8, 20)).astype(np.float32)
    w, v = weight('rowadd_w', 32, 16, 1, 1, scale=0.2), weight('rowadd_v', 20, scale=1.0)
    branch('rowadd', x, lambda i, o: [helper.make_node('Conv', [i, 'rowadd_w'], ['rc']),
                                      helper.make_node('Add', ['rc', 'rowadd_v'], [o])],
           conv(x, w) + v)

    # Windows on ragged rows (17 wide: two vectors of 16 for 17 pixels): packed weights, in
    # strips (32 filters) or transposed (40), computed across output channels.
    def window(x, w, pads):
        n, c, h, wd = x.shape
        kh, kw = w.shape[2:]
        xp = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
        taps = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))
        return np.einsum('nchwij,fcij->nfhw', taps, w)
    x = rng.uniform(-1, 1, (1, 24, 17, 17)).astype(np.float32)
    w1, w2 = weight('ragged_w1', 32, 24, 1, 7, scale=0.1), weight('ragged_w2', 40, 32, 7, 1, scale=0.1)
    a = np.maximum(window(x, w1, [0, 3, 0, 3]), 0)
    branch('ragged', x, lambda i, o: [
        helper.make_node('Conv', [i, 'ragged_w1'], ['ga'], pads=[0, 3, 0, 3]),
        helper.make_node('Relu', ['ga'], ['gr']),
        helper.make_node('Conv', ['gr', 'ragged_w2'], [o], pads=[3, 0, 3, 0])],
        window(a, w2, [3, 0, 3, 0]))

    # A grouped 3x3 convolution on a 7x7 map, groups of 16 filters (RegNetX): packed in
    # strips, computed across output channels two groups per tile; the 14x14 input is padded.
    x = rng.uniform(-1, 1, (1, 64, 7, 7)).astype(np.float32)
    w = weight('grouped_w', 64, 16, 3, 3, scale=0.1)
    ref = np.concatenate([window(x[:, 16 * g:16 * g + 16], w[16 * g:16 * g + 16], [1, 1, 1, 1])
                          for g in range(4)], axis=1)
    branch('grouped', x, lambda i, o: [helper.make_node('Conv', [i, 'grouped_w'], [o],
                                                        pads=[1, 1, 1, 1], group=4)], ref)

    path = model.save('layouts')

    tally = end_to_end.Tally()
    for target, runner in end_to_end.targets():
        exe = os.path.join(work, f'layouts_{target}')
        text = end_to_end.compile_model(kiln, path, exe, '--target', target)
        strips = re.findall(r'kiln\.from_strips [^\n]*axis = 1[^\n]*-> tensor<(\d+x\d+)xf32>', text)
        tally.check(sorted(set(strips)) == ['120x100', '256x512', '96x48'],
                    f'{target}: the 64-, 13- and 17-row matmuls read strips (100 columns padded '
                    f'to 128), the 1-row one does not ({strips})')
        flat = re.findall(r'kiln\.reshape [^\n]*-> tensor<(\d+x\d+x1x\d+)xf32>', text)
        tally.check({'2x24x1x560', '1x48x1x196'} <= set(flat)
                    and not any(f.startswith('1x16x1x') for f in flat),
                    f'{target}: wide and narrow pointwise kernels flattened, the rank-1 add not '
                    f'({flat})')
        tally.check(re.search(r'kiln\.kernel "k\d+_conv_add"[^\n]*-> tensor<1x32x1x49xf32>', text)
                    is not None, f'{target}: the residual add runs in the packed narrow '
                                 f'convolution\'s kernel')
        if target not in end_to_end.GPU_TARGETS:
            tally.check(re.search(r'kiln\.from_strips [^\n]*-> tensor<32x24x1x7xf32>', text) and
                        re.search(r'kiln\.transpose [^\n]*kiln\.weight_view[^\n]*'
                                  r'-> tensor<40x32x7x1xf32>', text),
                        f'{target}: the 1x7 and 7x1 windows on 17-wide rows read packed weights')
            tally.check(re.search(r'kiln\.from_strips [^\n]*-> tensor<64x16x3x3xf32>', text),
                        f'{target}: the grouped convolution reads strips of whole groups')
        end_to_end.run_and_compare(tally, target, runner, exe, model.data, model.refs, 1e-5)
    return tally.finish()


if __name__ == '__main__':
    sys.exit(main())
