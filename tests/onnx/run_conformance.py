#!/usr/bin/python3
"""run_conformance.py - ONNX's own backend tests, compiled and run through kiln.

Every test directory of Debian's libonnx-testdata (node, simple, pytorch-converted,
pytorch-operator) goes through the real path: `kiln compile` -> executable -> run on each
test_data_set_* -> compare with the stored outputs (ONNX's defaults: rtol 1e-3, atol 1e-7;
integers and bools exactly). Each test lands in one class:

  passed        every output of every data set matches
  failed        wrong numbers, wrong shape, a crash or a compile error that is not a
                clear "unsupported" diagnostic (the first mismatch is printed)
  unsupported   kiln rejects the model with a clear message (op, attribute or type)
  out of scope  training-only tests (adagrad, adam, momentum, gradient, *_training_*) and
                tests whose inputs or outputs are strings (kiln compiles numeric tensors)

usage:
  run_conformance.py --kiln build/compiler/kiln --work build/conformance [--jobs 2]
                     [--suites node,simple,pytorch-converted,pytorch-operator]
                     [--filter REGEX] [--report docs/conformance.md]
                     [--expected tests/onnx/expected_passes.txt] [--update-expected]

With --expected, exits 1 when a test listed there no longer passes (a regression); tests
that pass but are not listed are reported as new passes (--update-expected rewrites the list).
"""
import argparse
import concurrent.futures
import glob
import os
import re
import subprocess
import sys
import time

import numpy as np
import onnx
from onnx import numpy_helper

DATA = '/usr/share/libonnx-testdata/data'
SUITES = ['node', 'simple', 'pytorch-converted', 'pytorch-operator']
TRAINING = re.compile(r'^test_(adagrad|adam|momentum|nesterov_momentum|gradient)|_training', re.I)
RTOL, ATOL = 1e-3, 1e-7


def read_tensor(path):
    tensor = onnx.TensorProto()
    with open(path, 'rb') as f:
        tensor.ParseFromString(f.read())
    if tensor.data_type == 0 or tensor.data_type == onnx.TensorProto.STRING:
        raise ValueError(f'{os.path.basename(path)} is not a numeric tensor')
    return numpy_helper.to_array(tensor)


def main_op(model, name):
    """The op a test exercises: its only node, or the node whose type matches the name."""
    ops = [n.op_type for n in model.graph.node if n.op_type != 'Constant']
    if not ops:
        return 'Constant'
    if len(set(ops)) == 1:
        return ops[0]
    stem = name[len('test_'):].replace('_', '').lower() if name.startswith('test_') else name
    best = max(set(ops), key=lambda op: (stem.startswith(op.lower()), len(op)))
    return best if stem.startswith(best.lower()) else ops[-1]


def graph_inputs_behind(model, names, inputs):
    """The graph inputs that the values `names` are computed from."""
    producer = {}
    for node in model.graph.node:
        for output in node.output:
            producer[output] = node
    found, seen, stack = [], set(), list(names)
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in inputs:
            found.append(name)
        elif name in producer:
            stack.extend(i for i in producer[name].input if i)
    return found


def first_line(text):
    for line in text.splitlines():
        line = line.strip()
        if line.startswith('kiln: error:'):
            return line[len('kiln: error:'):].strip()
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    return lines[0] if lines else ''


def compare(name, expected, actual):
    """None when equal within tolerance, else a message naming the first differing element."""
    if tuple(expected.shape) != tuple(actual.shape):
        return f'{name}: shape {list(actual.shape)}, expected {list(expected.shape)}'
    if expected.dtype != actual.dtype and not (expected.dtype == np.bool_ and actual.dtype == np.uint8):
        return f'{name}: dtype {actual.dtype}, expected {expected.dtype}'
    if expected.size == 0:
        return None
    if expected.dtype.kind in 'fc':
        e = expected.astype(np.float64)
        a = actual.astype(np.float64)
        bad = ~((np.abs(a - e) <= ATOL + RTOL * np.abs(e)) | (np.isnan(e) & np.isnan(a)) |
                ((e == a) & np.isinf(e)))
    else:
        bad = expected != actual
    if not bad.any():
        return None
    index = np.unravel_index(np.argmax(bad), expected.shape)
    count = int(bad.sum())
    return (f'{name}: {count} of {expected.size} elements differ; first at {list(map(int, index))}: '
            f'expected {expected[index]!r}, got {actual[index]!r}')


def run_test(args, suite, test_dir):
    name = os.path.basename(test_dir)
    result = {'suite': suite, 'name': name, 'op': name, 'class': 'failed', 'reason': ''}
    try:
        model = onnx.load(os.path.join(test_dir, 'model.onnx'))
    except Exception as e:  # noqa: BLE001 - any load failure is a failed test
        result['reason'] = f'cannot load model: {e}'
        return result
    result['op'] = main_op(model, name) if suite == 'node' else suite
    if TRAINING.search(name):
        result['class'] = 'out of scope'
        result['reason'] = 'training-only'
        return result
    if any(v.type.tensor_type.elem_type == onnx.TensorProto.STRING
           for v in list(model.graph.input) + list(model.graph.output)):
        result['class'] = 'out of scope'
        result['reason'] = 'string tensors'
        return result
    initializers = {i.name for i in model.graph.initializer}
    inputs = [i.name for i in model.graph.input if i.name not in initializers]
    outputs = [o.name for o in model.graph.output]
    sets = sorted(glob.glob(os.path.join(test_dir, 'test_data_set_*')))
    work = os.path.join(args.work, suite, name)
    os.makedirs(work, exist_ok=True)
    try:
        data = []
        for s in sets:
            ins = [read_tensor(os.path.join(s, f'input_{i}.pb')) for i in range(len(inputs))
                   if os.path.exists(os.path.join(s, f'input_{i}.pb'))]
            outs = [read_tensor(os.path.join(s, f'output_{i}.pb')) for i in range(len(outputs))]
            data.append((ins, outs))
    except Exception as e:  # noqa: BLE001
        result['class'] = 'unsupported'
        result['reason'] = f'test data: {e}'
        return result
    if not data:
        result['reason'] = 'no test data'
        return result
    # Inputs the data set leaves out are optional inputs: not passed.
    given = inputs[:len(data[0][0])]
    exe = os.path.join(work, 'model')
    command = [args.kiln, 'compile', os.path.join(test_dir, 'model.onnx'), '-o', exe]
    for input_name, array in zip(given, data[0][0]):
        command += ['--input-shape', f'{input_name}=' + ','.join(str(d) for d in array.shape)]
    try:
        compiled = subprocess.run(command, capture_output=True, text=True, timeout=600)
        # Shapes, axes, scales... fed as graph inputs: kiln names each one it needs as a
        # compile-time constant; bind exactly those (as a user would, with --bind) when every
        # data set gives them the same values.
        binds = []
        for _ in range(6):
            if compiled.returncode != 2:
                break
            named = re.findall(r"'([^']*)'\) must be a compile-time", compiled.stderr)
            wanted = [m for m in graph_inputs_behind(model, named, given) if m not in binds]
            if not wanted:
                break
            for input_name in wanted:
                arrays = [d[0][given.index(input_name)] for d in data]
                if not all(a.shape == arrays[0].shape and np.array_equal(a, arrays[0]) for a in arrays):
                    wanted = []
                    break
            if not wanted:
                break
            binds += wanted
            rebound = list(command)
            for input_name in binds:
                values = data[0][0][given.index(input_name)].reshape(-1)
                rebound += ['--bind', f'{input_name}=' + ','.join(repr(int(v) if v.dtype == np.bool_ else v.item()) for v in values)]
            compiled = subprocess.run(rebound, capture_output=True, text=True, timeout=600)
        if compiled.returncode == 0 and binds:
            result['bound'] = binds
            keep = [i for i, g in enumerate(given) if g not in binds]
            given = [given[i] for i in keep]
            data = [([ins[i] for i in keep], outs) for ins, outs in data]
    except subprocess.TimeoutExpired:
        result['reason'] = 'compile timed out'
        return result
    if compiled.returncode != 0:
        message = first_line(compiled.stderr)
        unsupported = compiled.returncode == 2 and re.search(
            r'unsupported|not supported|no Halide', compiled.stderr)
        result['class'] = 'unsupported' if unsupported else 'failed'
        if 'unsupported op type' in compiled.stderr:
            ops = re.findall(r'^\s+(\S+) \(\d+ nodes?\)', compiled.stderr, re.M)
            message = 'unsupported op ' + ', '.join(ops)
        result['reason'] = (message or f'kiln exited {compiled.returncode}')[:300]
        return result
    for set_index, (ins, outs) in enumerate(data):
        run = [exe, '--threads', '1', '--output-dir', os.path.join(work, f'out{set_index}')]
        for input_name, array in zip(given, ins):
            path = os.path.join(work, f'in{set_index}_{given.index(input_name)}.npy')
            np.save(path, array)
            run += ['--input', f'{input_name}={path}']
        try:
            ran = subprocess.run(run, capture_output=True, text=True, timeout=300)
        except subprocess.TimeoutExpired:
            result['reason'] = 'run timed out'
            return result
        if ran.returncode != 0:
            result['reason'] = f'run exited {ran.returncode}: ' + first_line(ran.stderr)[:200]
            return result
        for output_name, expected in zip(outputs, outs):
            path = os.path.join(work, f'out{set_index}',
                                output_name.replace('/', '_').replace(':', '_') + '.npy')
            try:
                actual = np.load(path)
            except Exception as e:  # noqa: BLE001
                result['reason'] = f'output {output_name}: {e}'
                return result
            mismatch = compare(output_name, expected, actual)
            if mismatch:
                result['reason'] = f'data set {set_index}: {mismatch}'[:400]
                return result
    result['class'] = 'passed'
    if result.get('bound'):
        result['reason'] = 'with --bind ' + ', '.join(result['bound'])
    return result


def write_report(path, results, command, seconds):
    classes = ['passed', 'failed', 'unsupported', 'out of scope']
    lines = ['# ONNX conformance', '',
             'ONNX\'s backend test suite from Debian\'s libonnx-testdata, each test compiled by '
             '`kiln compile` for the host and run; outputs compared with the stored ones '
             f'(rtol {RTOL}, atol {ATOL}; integers exactly).', '',
             f'Regenerate: `{command}` ({seconds:.0f} s on this machine).', '',
             'Tests that feed shapes, axes or pads as graph inputs pass with those inputs bound '
             'at compile time (`--bind`, as a user specializes them); the per-op table marks them.', '',
             '| suite | tests | passed | failed | unsupported | out of scope | pass rate (in scope) |',
             '|---|---|---|---|---|---|---|']
    for suite in SUITES:
        rs = [r for r in results if r['suite'] == suite]
        if not rs:
            continue
        counts = {c: sum(r['class'] == c for r in rs) for c in classes}
        scope = len(rs) - counts['out of scope']
        rate = 100.0 * counts['passed'] / scope if scope else 0.0
        lines.append(f"| {suite} | {len(rs)} | {counts['passed']} | {counts['failed']} | "
                     f"{counts['unsupported']} | {counts['out of scope']} | {rate:.1f}% |")
    lines += ['', '## Per op (node suite)', '',
              '| op | tests | passed | failed | unsupported | reasons |', '|---|---|---|---|---|---|']
    by_op = {}
    for r in results:
        if r['suite'] == 'node' and r['class'] != 'out of scope':
            by_op.setdefault(r['op'], []).append(r)
    for op in sorted(by_op):
        rs = by_op[op]
        counts = {c: sum(r['class'] == c for r in rs) for c in classes}
        reasons = []
        for r in rs:
            if r['class'] in ('failed', 'unsupported') or r.get('bound'):
                reasons.append(f"{r['name']}: {r['reason']}".replace('|', '\\|').replace('\n', ' '))
        text = '<br>'.join(reasons[:6]) + (f'<br>... {len(reasons) - 6} more' if len(reasons) > 6 else '')
        lines.append(f"| {op} | {len(rs)} | {counts['passed']} | {counts['failed']} | "
                     f"{counts['unsupported']} | {text} |")
    for suite in SUITES[1:]:
        rs = [r for r in results if r['suite'] == suite and r['class'] in ('failed', 'unsupported')]
        if rs:
            lines += ['', f'## Not passing in {suite}', '']
            lines += [f"- {r['name']} ({r['class']}): {r['reason']}" for r in rs]
    out_of_scope = sorted(r['name'] for r in results if r['class'] == 'out of scope')
    lines += ['', '## Out of scope (training-only, string tensors)', '', ', '.join(out_of_scope) or 'none', '']
    with open(path, 'w') as f:
        f.write('\n'.join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--kiln', required=True)
    parser.add_argument('--work', required=True)
    parser.add_argument('--jobs', type=int, default=os.cpu_count() or 2)
    parser.add_argument('--suites', default=','.join(SUITES))
    parser.add_argument('--filter', default='')
    parser.add_argument('--report')
    parser.add_argument('--expected')
    parser.add_argument('--update-expected', action='store_true')
    args = parser.parse_args()
    args.kiln = os.path.abspath(args.kiln)
    tests = []
    for suite in args.suites.split(','):
        for d in sorted(glob.glob(os.path.join(DATA, suite, '*'))):
            if os.path.isdir(d) and re.search(args.filter, os.path.basename(d)):
                tests.append((suite, d))
    start = time.time()
    results = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(run_test, args, suite, d) for suite, d in tests]
        for i, future in enumerate(concurrent.futures.as_completed(futures), 1):
            r = future.result()
            results.append(r)
            if r['class'] != 'passed':
                print(f"[{i}/{len(tests)}] {r['class'].upper()} {r['suite']}/{r['name']}: {r['reason']}",
                      flush=True)
    seconds = time.time() - start
    results.sort(key=lambda r: (r['suite'], r['name']))
    for suite in SUITES:
        rs = [r for r in results if r['suite'] == suite]
        if rs:
            counts = {c: sum(r['class'] == c for r in rs) for c in ['passed', 'failed', 'unsupported', 'out of scope']}
            scope = len(rs) - counts['out of scope']
            print(f"{suite}: {counts['passed']}/{scope} passed ({100.0 * counts['passed'] / max(scope, 1):.1f}%), "
                  f"{counts['failed']} failed, {counts['unsupported']} unsupported, "
                  f"{counts['out of scope']} out of scope")
    if args.report:
        command = 'tests/onnx/run_conformance.py --kiln build/compiler/kiln --work build/conformance ' \
                  '--report docs/conformance.md'
        write_report(args.report, results, command, seconds)
    status = 0
    passing = {f"{r['suite']}/{r['name']}" for r in results if r['class'] == 'passed'}
    if args.expected:
        expected = set()
        if os.path.exists(args.expected):
            expected = {l.strip() for l in open(args.expected) if l.strip() and not l.startswith('#')}
        ran = {f"{r['suite']}/{r['name']}" for r in results}
        regressions = sorted((expected & ran) - passing)
        new = sorted(passing - expected)
        for name in regressions:
            print(f'REGRESSION {name}')
        if new:
            print(f'{len(new)} tests pass that are not in {args.expected}')
        if args.update_expected:
            with open(args.expected, 'w') as f:
                f.write('# Conformance tests known to pass; tests/onnx/run_conformance.py fails when one stops.\n')
                f.write('\n'.join(sorted(passing)) + '\n')
        elif regressions:
            status = 1
    total_failed = len(results) - len(passing)
    print(f'conformance: {len(passing)} passed, {total_failed} not passed ({seconds:.0f} s)')
    return status


if __name__ == '__main__':
    sys.exit(main())
