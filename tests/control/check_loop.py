#!/usr/bin/python3
"""check_loop.py - ONNX Loop whose trip count and condition the model computes, run by the glue.

The body is compiled once and the glue iterates it (kiln.loop): a recurrent state that reads
the iteration number and a value from before the loop, two carried values swapped every
iteration (their buffers must not clobber each other), a counter, and a condition the body
computes (stop once the state's sum reaches a limit). Trip count and limit are model inputs.
Runs: a fixed count, an early stop by the condition, zero iterations from the count and from
the initial condition; each output must match a numpy loop within 1e-5 * max(1, max |ref|).
A build with --max-loop-iterations 10 must stop a longer run with an error naming the loop.
Scan (unrolled over its static sequence length), reversed input and output, against numpy.
Host, aarch64 under qemu, OpenCL on PoCL and wasm32-wasi on Node, where installed.
usage: check_loop.py KILN WORK_DIR
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

F32, I64, BOOL = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL


def build(work):
    def info(name, kind, shape):
        return helper.make_tensor_value_info(name, kind, shape)
    consts = {'decay': np.array(0.9, np.float32), 'step': np.array(0.01, np.float32),
              'one': np.array(1, np.int64), 'zero_count': np.array(0, np.int64),
              'zero': np.array(0.0, np.float32), 'two': np.array(2.0, np.float32)}
    body = helper.make_graph([
        helper.make_node('Mul', ['s_in', 'decay'], ['s_decayed']),
        helper.make_node('Add', ['s_decayed', 'x'], ['s_sum']),
        helper.make_node('Tanh', ['s_sum'], ['s_tanh']),
        helper.make_node('Cast', ['i'], ['i_float'], to=F32),
        helper.make_node('Mul', ['i_float', 'step'], ['i_step']),
        helper.make_node('Add', ['s_tanh', 'i_step'], ['s_out']),
        helper.make_node('Add', ['count_in', 'one'], ['count_out']),
        helper.make_node('ReduceSum', ['s_out'], ['s_total'], keepdims=0),
        helper.make_node('Less', ['s_total', 'limit'], ['cond_out']),
        helper.make_node('Identity', ['b_in'], ['a_out']),
        helper.make_node('Identity', ['a_in'], ['b_out']),
    ], 'body', [info('i', I64, []), info('cond_in', BOOL, []), info('s_in', F32, [1, 8]),
                info('a_in', F32, [1, 8]), info('b_in', F32, [1, 8]), info('count_in', I64, [])],
        [info('cond_out', BOOL, []), info('s_out', F32, [1, 8]), info('a_out', F32, [1, 8]),
         info('b_out', F32, [1, 8]), info('count_out', I64, [])])
    nodes = [
        helper.make_node('Greater', ['limit', 'zero'], ['cond0']),
        helper.make_node('Neg', ['x'], ['a0']),
        helper.make_node('Loop', ['m', 'cond0', 'x', 'a0', 'x', 'zero_count'],
                         ['s_final', 'a_final', 'b_final', 'count'], body=body),
        helper.make_node('Mul', ['s_final', 'two'], ['y']),
    ]
    graph = helper.make_graph(
        nodes, 'recurrent', [info('x', F32, [1, 8]), info('m', I64, []), info('limit', F32, [])],
        [info('y', F32, [1, 8]), info('a_final', F32, [1, 8]), info('b_final', F32, [1, 8]),
         info('count', I64, [])],
        [numpy_helper.from_array(v, k) for k, v in consts.items()])
    path = os.path.join(work, 'recurrent.onnx')
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)]), path)
    return path


def reference(x, m, limit):
    s, a, b, count, cond, i = x.astype(np.float64), -x.astype(np.float64), x.astype(np.float64), 0, limit > 0, 0
    while i < m and cond:
        s = np.tanh(s * np.float64(np.float32(0.9)) + x) + i * np.float64(np.float32(0.01))
        a, b, count = b, a, count + 1
        cond = s.sum() < limit
        i += 1
    return {'y': s * 2, 'a_final': a, 'b_final': b, 'count': np.array(count, np.int64)}


def main():
    kiln, work = sys.argv[1], os.path.abspath(sys.argv[2])
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    path = build(work)
    x = np.random.default_rng(5).uniform(-0.5, 1.0, [1, 8]).astype(np.float32)
    x_path = os.path.join(work, 'x.npy')
    np.save(x_path, x)
    runs = {'fixed_count': (5, 100.0), 'early_stop': (1000, 3.0), 'zero_count': (0, 100.0),
            'false_condition': (7, -1.0)}
    tally = end_to_end.Tally()
    counts = {name: int(reference(x, m, limit)['count']) for name, (m, limit) in runs.items()}
    tally.check(counts['fixed_count'] == 5 and 5 < counts['early_stop'] < 1000 and
                counts['zero_count'] == 0 and counts['false_condition'] == 0,
                f'the runs take the paths meant (iterations {counts})')
    for target, runner, flags in end_to_end.targets_with_wasi():
        exe = os.path.join(work, f'recurrent_{target}')
        text = end_to_end.compile_model(kiln, path, exe, '--target', target, *flags)
        tally.check(text.count('= kiln.loop ') == 1, f'{target}: the loop is run by the glue')
        for name, (m, limit) in runs.items():
            inputs = {}
            for key, value in (('m', np.array(m, np.int64)), ('limit', np.array(limit, np.float32))):
                inputs[key] = os.path.join(work, f'{name}_{key}.npy')
                np.save(inputs[key], value)
            out = f'{exe}.{name}.out'
            os.makedirs(out, exist_ok=True)
            args = [a for k, p in [('x', x_path)] + list(inputs.items()) for a in ('--input', f'{k}={p}')]
            subprocess.run(runner + [exe, *args, '--output-dir', out], check=True, capture_output=True)
            for output, ref in reference(x, m, limit).items():
                got = np.load(os.path.join(out, f'{output}.npy'))
                error = np.abs(got.astype(np.float64) - ref).max()
                tally.check(got.shape == ref.shape and error <= 1e-5 * max(1.0, np.abs(ref).max()),
                            f'{target} {name} {output}: max error {error:.3g}')
    # Scan (unrolled over its static sequence): a running sum over axis 1 read backwards,
    # and the sums stacked along axis 0 in reverse, against numpy on the host.
    body = helper.make_graph(
        [helper.make_node('Add', ['acc_in', 'step_in'], ['acc_out']),
         helper.make_node('Identity', ['acc_out'], ['seen'])], 'scan_body',
        [helper.make_tensor_value_info('acc_in', F32, [2]),
         helper.make_tensor_value_info('step_in', F32, [2])],
        [helper.make_tensor_value_info('acc_out', F32, [2]),
         helper.make_tensor_value_info('seen', F32, [2])])
    scan = helper.make_node('Scan', ['init', 'seq'], ['total', 'partials'], body=body,
                            num_scan_inputs=1, scan_input_axes=[1], scan_input_directions=[1],
                            scan_output_axes=[0], scan_output_directions=[1])
    graph = helper.make_graph(
        [scan], 'scan', [helper.make_tensor_value_info('init', F32, [2]),
                         helper.make_tensor_value_info('seq', F32, [2, 5])],
        [helper.make_tensor_value_info('total', F32, [2]),
         helper.make_tensor_value_info('partials', F32, [5, 2])])
    scan_path = os.path.join(work, 'scan.onnx')
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)]), scan_path)
    rng = np.random.default_rng(9)
    init, seq = (rng.uniform(-1, 1, shape).astype(np.float32) for shape in ([2], [2, 5]))
    partials, acc = [], init.astype(np.float64)
    for t in reversed(range(5)):
        acc = acc + seq[:, t]
        partials.append(acc)
    refs = {'total': acc, 'partials': np.stack(partials[::-1], axis=0)}
    exe = os.path.join(work, 'scan')
    subprocess.run([kiln, 'compile', scan_path, '-o', exe], check=True, capture_output=True)
    args = []
    for name, value in (('init', init), ('seq', seq)):
        np.save(os.path.join(work, f'scan_{name}.npy'), value)
        args += ['--input', f'{name}={os.path.join(work, f"scan_{name}.npy")}']
    subprocess.run([exe, *args, '--output-dir', exe + '.out'], check=True, capture_output=True)
    for name, ref in refs.items():
        got = np.load(os.path.join(exe + '.out', f'{name}.npy'))
        error = np.abs(got - ref).max()
        tally.check(got.shape == ref.shape and error <= 1e-5, f'scan {name}: max error {error:.3g}')

    # Every run ends: past --max-loop-iterations the run fails, naming the loop.
    exe = os.path.join(work, 'recurrent_limited')
    subprocess.run([kiln, 'compile', path, '-o', exe, '--max-loop-iterations', '10'], check=True,
                   capture_output=True)
    inputs = ['--input', f'x={x_path}', '--input', f'm={os.path.join(work, "early_stop_m.npy")}',
              '--input', f'limit={os.path.join(work, "fixed_count_limit.npy")}']
    ran = subprocess.run([exe, *inputs, '--output-dir', exe + '.out'], capture_output=True, text=True)
    tally.check(ran.returncode != 0 and 'loop0:next' in ran.stderr and 'iteration limit' in ran.stderr,
                f'a run past --max-loop-iterations fails naming the loop: {ran.stderr.strip()[:160]}')
    return tally.finish()


if __name__ == '__main__':
    sys.exit(main())
