"""end_to_end.py - what the one-model end-to-end checks (tests/winograd, tests/layout,
tests/depthwise, tests/normalization) share.

Each check builds one ONNX model of independent branches, input NAME_x and output NAME_y per
branch, compiles it for every target (with the planned IR written beside the executable),
runs it on saved inputs and compares every output with a float64 reference.
"""
import os
import shutil
import subprocess

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

# Targets and the command that runs their executables here (aarch64: qemu when installed;
# opencl: on PoCL, OpenCL for the CPU, when an OpenCL platform is installed).
TARGETS = {'host': [], 'aarch64': ['qemu-aarch64', '-L', '/usr/aarch64-linux-gnu'],
           'opencl': []}

# GPU targets: the backend runs every convolution directly (Winograd is a CPU schedule).
GPU_TARGETS = {'opencl'}


def opencl_available():
    """Whether libOpenCL.so.1 loads and lists at least one platform (PoCL in CI)."""
    import ctypes
    try:
        library = ctypes.CDLL('libOpenCL.so.1')
    except OSError:
        return False
    count = ctypes.c_uint(0)
    return library.clGetPlatformIDs(0, None, ctypes.byref(count)) == 0 and count.value > 0


class Tally:
    """PASS/FAIL lines and their counts; finish() prints the summary and the exit status."""

    def __init__(self):
        self.passed = self.failed = 0

    def check(self, ok, message):
        print(('PASS ' if ok else 'FAIL ') + message)
        self.passed, self.failed = self.passed + bool(ok), self.failed + (not ok)

    def finish(self):
        print(f'{self.passed} passed, {self.failed} failed')
        return 1 if self.failed else 0


class BranchModel:
    """The model being built in a fresh `work` directory. Branch NAME reads input NAME_x (saved
    as work/NAME_x.npy, listed in `data`) and writes output NAME_y; a branch with more
    outputs also writes NAME_S_y per extra output S. `refs` holds each output's reference,
    keyed by the output name without _y, as run_and_compare reads them."""

    def __init__(self, work):
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        self.work = work
        self.nodes, self.inputs, self.outputs, self.inits = [], [], [], []
        self.data, self.refs = {}, {}

    def initializer(self, name, array):
        self.inits.append(numpy_helper.from_array(array, name))

    def branch(self, name, x, nodes, ref, **more):
        """Adds `nodes` (reading NAME_x) with reference `ref` for NAME_y and, per keyword
        S=reference, one for NAME_S_y."""
        self.inputs.append(helper.make_tensor_value_info(f'{name}_x', TensorProto.FLOAT,
                                                         list(x.shape)))
        self.nodes.extend(nodes)
        for key, value in [(name, ref)] + [(f'{name}_{s}', r) for s, r in more.items()]:
            self.outputs.append(helper.make_tensor_value_info(f'{key}_y', TensorProto.FLOAT,
                                                              list(value.shape)))
            self.refs[key] = value
        self.data[name] = os.path.join(self.work, f'{name}_x.npy')
        np.save(self.data[name], x)

    def save(self, name):
        """Writes work/NAME.onnx (opset 17) and returns its path."""
        path = os.path.join(self.work, f'{name}.onnx')
        graph = helper.make_graph(self.nodes, name, self.inputs, self.outputs, self.inits)
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)]), path)
        return path


def targets():
    """(target, runner) for every target this machine can run; prints SKIP for the others."""
    for target, runner in TARGETS.items():
        if runner and not shutil.which(runner[0]):
            print(f'SKIP {target}: {runner[0]} is not installed')
            continue
        if target == 'opencl' and not opencl_available():
            print('SKIP opencl: no OpenCL platform (scripts/setup installs PoCL)')
            continue
        yield target, runner


def targets_with_wasi():
    """targets(), plus wasm32-wasi on Node's WASI (the freestanding runtime) where node is
    installed: (target, runner, extra compile flags)."""
    found = [(target, runner, []) for target, runner in targets()]
    if shutil.which('node'):
        wasi = os.path.join(os.path.dirname(__file__), '..', '..', 'scripts', 'run-wasi.js')
        found.append(('wasm32-wasi', ['node', '--no-warnings', os.path.abspath(wasi)],
                      ['--weights', 'embed']))
    return found


def compile_model(kiln, model, exe, *flags):
    """Compiles `model` to `exe` and returns the planned IR (kiln's --emit-mlir) as text."""
    subprocess.run([kiln, 'compile', model, '-o', exe, *flags, '--emit-mlir', exe + '.mlir'],
                   check=True, capture_output=True)
    return open(exe + '.mlir').read()


def run_and_compare(tally, target, runner, exe, inputs, refs, tolerance):
    """Runs `exe` on `inputs` (branch name -> .npy path) and checks each branch's output
    against `refs` (branch name -> float64 array): same shape and max |difference| within
    `tolerance` * max(1, max |reference|)."""
    out = exe + '.out'
    args = [a for name, path in inputs.items() for a in ('--input', f'{name}_x={path}')]
    subprocess.run(runner + [exe, *args, '--output-dir', out], check=True, capture_output=True)
    for name, ref in refs.items():
        got = np.load(os.path.join(out, f'{name}_y.npy'))
        error = np.abs(got - ref).max()
        scale = max(1.0, np.abs(ref).max())
        tally.check(got.shape == ref.shape and error <= tolerance * scale,
                    f'{target} {name}: max error {error:.3g} (max |reference| {scale:.3g})')
