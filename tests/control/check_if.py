#!/usr/bin/python3
"""check_if.py - ONNX If on a condition the model computes, decided at run time.

The model gates on its own score, as a wake-word or voice-activity model does: a 3x3
convolution, sigmoid and mean make a score, and If(score > 0.5) runs one of two
convolution branches. The then branch also passes the input through unchanged (a copy
kernel) and holds a nested If on max(x) > 2; the else branch computes those outputs. One of
the If's results feeds more work after it. Both branches are compiled (kiln.if in the
planned IR, their kernels writing the If's result buffers directly), and runs whose inputs
take each path must match a float64 numpy reference within 1e-5 * max(1, max |ref|).
Host, aarch64 under qemu, OpenCL on PoCL (the condition read back from the device) and
WebAssembly on Node's WASI (the freestanding runtime), where installed.
usage: check_if.py KILN WORK_DIR
"""
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
import end_to_end  # noqa: E402


def conv3x3(x, w, b=None):
    """Float64 3x3 convolution with padding 1 (NCHW, OIHW)."""
    padded = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (1, 1), (1, 1)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(2, 3))
    y = np.einsum('nchwij,ocij->nohw', windows, w.astype(np.float64))
    return y if b is None else y + b.reshape(1, -1, 1, 1)


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


def build(work, rng):
    wa = np.full([1, 3, 3, 3], 1 / 27, np.float32)
    w1 = rng.uniform(-0.5, 0.5, [4, 3, 3, 3]).astype(np.float32)
    b1 = rng.uniform(-0.5, 0.5, [4]).astype(np.float32)
    w2 = rng.uniform(-0.5, 0.5, [4, 3, 3, 3]).astype(np.float32)
    two = np.array(2.0, np.float32)
    half = np.array(0.5, np.float32)
    one = np.array(1.0, np.float32)
    inits = [numpy_helper.from_array(a, n) for a, n in
             [(wa, 'wa'), (w1, 'w1'), (b1, 'b1'), (w2, 'w2'), (two, 'two'), (half, 'half'),
              (one, 'one')]]
    f32 = TensorProto.FLOAT
    shape_y, shape_x = [1, 4, 8, 8], [1, 3, 8, 8]

    def out(name, shape):
        return helper.make_tensor_value_info(name, f32, shape)

    inner_then = helper.make_graph([helper.make_node('Mul', ['x', 'two'], ['w_doubled'])],
                                   'inner_then', [], [out('w_doubled', shape_x)])
    inner_else = helper.make_graph([helper.make_node('Mul', ['x', 'half'], ['w_halved'])],
                                   'inner_else', [], [out('w_halved', shape_x)])
    then_branch = helper.make_graph([
        helper.make_node('Conv', ['x', 'w1', 'b1'], ['t_conv'], pads=[1, 1, 1, 1]),
        helper.make_node('Relu', ['t_conv'], ['t_y']),
        helper.make_node('ReduceMax', ['x'], ['t_max'], keepdims=0),
        helper.make_node('Greater', ['t_max', 'two'], ['t_big']),
        helper.make_node('If', ['t_big'], ['t_w'], then_branch=inner_then,
                         else_branch=inner_else),
    ], 'then', [], [out('t_y', shape_y), out('x', shape_x), out('t_w', shape_x)])
    else_branch = helper.make_graph([
        helper.make_node('Conv', ['x', 'w2'], ['e_conv'], pads=[1, 1, 1, 1]),
        helper.make_node('Sigmoid', ['e_conv'], ['e_y']),
        helper.make_node('Neg', ['x'], ['e_z']),
        helper.make_node('Abs', ['x'], ['e_w']),
    ], 'else', [], [out('e_y', shape_y), out('e_z', shape_x), out('e_w', shape_x)])
    nodes = [
        helper.make_node('Conv', ['x', 'wa'], ['score_map'], pads=[1, 1, 1, 1]),
        helper.make_node('Sigmoid', ['score_map'], ['score_sig']),
        helper.make_node('ReduceMean', ['score_sig'], ['score'], keepdims=0),
        helper.make_node('Greater', ['score', 'half'], ['gate']),
        helper.make_node('If', ['gate'], ['y', 'z', 'w'], then_branch=then_branch,
                         else_branch=else_branch),
        helper.make_node('Add', ['y', 'one'], ['y_plus_one']),
    ]
    graph = helper.make_graph(nodes, 'gate', [helper.make_tensor_value_info('x', f32, shape_x)],
                              [out('y_plus_one', shape_y), out('z', shape_x), out('w', shape_x)],
                              inits)
    path = os.path.join(work, 'gate.onnx')
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)]), path)

    def reference(x):
        score = sigmoid(conv3x3(x, wa)).mean()
        if score > 0.5:
            y = np.maximum(conv3x3(x, w1, b1), 0)
            z = x.astype(np.float64)
            w = x * 2.0 if x.max() > 2 else x * 0.5
        else:
            y = sigmoid(conv3x3(x, w2))
            z, w = -x.astype(np.float64), np.abs(x).astype(np.float64)
        return {'y_plus_one': y + 1, 'z': z, 'w': w}, ('then' if score > 0.5 else 'else') + (
            '/big' if score > 0.5 and x.max() > 2 else '/small' if score > 0.5 else '')
    return path, reference


def main():
    kiln, work = sys.argv[1], os.path.abspath(sys.argv[2])
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    rng = np.random.default_rng(7)
    path, reference = build(work, rng)
    base = np.abs(rng.uniform(0.1, 1.0, [1, 3, 8, 8])).astype(np.float32)
    inputs = {'big': base * 3, 'small': base * 0.5, 'negative': -base}
    tally = end_to_end.Tally()
    paths = {}
    for name, x in inputs.items():
        paths[name] = os.path.join(work, f'{name}.npy')
        np.save(paths[name], x)
    expected_paths = {'big': 'then/big', 'small': 'then/small', 'negative': 'else'}
    for name, x in inputs.items():
        tally.check(reference(x)[1] == expected_paths[name],
                    f'input {name} takes the {expected_paths[name]} path')
    for target, runner, flags in end_to_end.targets_with_wasi():
        exe = os.path.join(work, f'gate_{target}')
        text = end_to_end.compile_model(kiln, path, exe, '--target', target, *flags)
        tally.check(text.count('kiln.if') == 2, f'{target}: both Ifs stay in the planned IR')
        # Only the pass-through output needs a copy: every other yielded value is written by
        # its kernel straight into the If's result buffer.
        tally.check(text.count('_copy"') == 1, f'{target}: one copy kernel (the pass-through)')
        for name, x in inputs.items():
            out = f'{exe}.{name}.out'
            os.makedirs(out, exist_ok=True)  # (a WASI program cannot make directories)
            subprocess.run(runner + [exe, '--input', f'x={paths[name]}', '--output-dir', out],
                           check=True, capture_output=True)
            refs, _ = reference(x)
            for output, ref in refs.items():
                got = np.load(os.path.join(out, f'{output}.npy'))
                error = np.abs(got - ref).max()
                scale = max(1.0, np.abs(ref).max())
                tally.check(got.shape == ref.shape and error <= 1e-5 * scale,
                            f'{target} {name} {output}: max error {error:.3g}')
    return tally.finish()


if __name__ == '__main__':
    sys.exit(main())
