#!/usr/bin/python3
"""check_layer_norm.py - layer normalization as one kernel (kiln.layer_norm), end to end.

One model holds a branch per way a layer normalization reaches kiln: ONNX's
LayerNormalization over the last axis (scale and bias), over the last two (scale only,
batch 3) and over all of them, the decomposed form PaddlePaddle exports (ReduceMean, Sub, Pow, ReduceMean, Add,
Sqrt, Div, then scale and shift), which kiln-fuse-layer-norm recognizes, and a
LayerNormalization whose Mean and InvStdDev outputs are read, which the importer decomposes
(the statistics are outputs) and kiln-fuse-layer-norm then fuses back for the normalized
output. The planned IR must hold one kiln.layer_norm per branch, and every output must match
float64 numpy within 1e-5 * max(1, max |reference|). Compiled for the host and, where qemu is
installed, aarch64.
usage: check_layer_norm.py KILN WORK_DIR
"""
import os
import sys

import numpy as np
from onnx import helper

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
import end_to_end  # noqa: E402


def normalized(x, axis, epsilon):
    axes = tuple(range(axis, x.ndim))
    x = x.astype(np.float64)
    mean = x.mean(axis=axes, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(variance + epsilon), mean, 1 / np.sqrt(variance + epsilon)


def main():
    kiln, work = sys.argv[1], sys.argv[2]
    rng = np.random.default_rng(17)
    model = end_to_end.BranchModel(work)

    def tensor(name, array):
        model.initializer(name, np.asarray(array, np.float32))
        return np.asarray(array, np.float32).astype(np.float64)

    def branch(name, x, make, ref, **more):
        model.branch(name, x, make(f'{name}_x'), ref, **more)

    # ONNX LayerNormalization, last axis; values offset from zero so the mean matters.
    x = (rng.standard_normal((2, 7, 50)) * 3 + 5).astype(np.float32)
    s, b = tensor('last_s', rng.uniform(0.5, 1.5, 50)), tensor('last_b', rng.uniform(-1, 1, 50))
    branch('last', x, lambda i: [helper.make_node('LayerNormalization', [i, 'last_s', 'last_b'],
                                                  ['last_y'], axis=-1, epsilon=1e-5)],
           normalized(x, 2, 1e-5)[0] * s + b)
    # Over the last two axes, scale only.
    x = rng.standard_normal((3, 4, 5)).astype(np.float32)
    s = tensor('two_s', rng.uniform(0.5, 1.5, (4, 5)))
    branch('two', x, lambda i: [helper.make_node('LayerNormalization', [i, 'two_s'], ['two_y'],
                                                 axis=1, epsilon=1e-3)],
           normalized(x, 1, 1e-3)[0] * s)
    # Over every axis (axis 0): one mean and variance for the whole tensor.
    x = (rng.standard_normal((4, 6)) + 2).astype(np.float32)
    s = tensor('whole_s', rng.uniform(0.5, 1.5, (4, 6)))
    branch('whole', x, lambda i: [helper.make_node('LayerNormalization', [i, 'whole_s'],
                                                   ['whole_y'], axis=0, epsilon=1e-5)],
           normalized(x, 0, 1e-5)[0] * s)
    # PaddlePaddle's decomposed export.
    x = rng.standard_normal((1, 40, 120)).astype(np.float32)
    s, b = tensor('paddle_s', rng.uniform(0.5, 1.5, 120)), tensor('paddle_b', rng.uniform(-1, 1, 120))
    tensor('two', 2.0)
    tensor('eps', 1e-6)
    branch('paddle', x, lambda i: [
        helper.make_node('ReduceMean', [i], ['pm'], axes=[-1], keepdims=1),
        helper.make_node('Sub', [i, 'pm'], ['pd']),
        helper.make_node('Pow', ['pd', 'two'], ['pp']),
        helper.make_node('ReduceMean', ['pp'], ['pv'], axes=[-1], keepdims=1),
        helper.make_node('Add', ['pv', 'eps'], ['pe']),
        helper.make_node('Sqrt', ['pe'], ['ps']),
        helper.make_node('Div', ['pd', 'ps'], ['pn']),
        helper.make_node('Mul', ['pn', 'paddle_s'], ['pl']),
        helper.make_node('Add', ['pl', 'paddle_b'], ['paddle_y'])],
        normalized(x, 2, np.float32(1e-6))[0] * s + b)
    # Mean and InvStdDev read: the decomposed form.
    x = rng.standard_normal((4, 24)).astype(np.float32)
    s = tensor('stats_s', rng.uniform(0.5, 1.5, 24))
    y, mean, inverse = normalized(x, 1, 1e-5)
    branch('stats', x, lambda i: [helper.make_node(
        'LayerNormalization', [i, 'stats_s'], ['stats_y', 'stats_mean_y', 'stats_inv_y'], axis=1,
        epsilon=1e-5)], y * s, mean=mean, inv=inverse)

    # opset 17 for LayerNormalization; ReduceMean then still takes its axes as an attribute.
    path = model.save('layer_norm')

    tally = end_to_end.Tally()
    for target, runner in end_to_end.targets():
        exe = os.path.join(work, f'layer_norm_{target}')
        text = end_to_end.compile_model(kiln, path, exe, '--target', target)
        count = text.count('kiln.layer_norm')
        tally.check(count == 5, f'{target}: each branch normalizes with one kiln.layer_norm '
                                f'({count})')
        end_to_end.run_and_compare(tally, target, runner, exe, model.data, model.refs, 1e-5)
    return tally.finish()


if __name__ == '__main__':
    sys.exit(main())
