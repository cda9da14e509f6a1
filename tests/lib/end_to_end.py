"""end_to_end.py - what the one-model end-to-end checks (tests/winograd, tests/layout) share.

Each check builds one ONNX model of independent branches, input NAME_x and output NAME_y per
branch, compiles it for every target (with the planned IR written beside the executable),
runs it on saved inputs and compares every output with a float64 reference.
"""
import os
import shutil
import subprocess

import numpy as np

# Targets and the command that runs their executables here (aarch64: qemu when installed).
TARGETS = {'host': [], 'aarch64': ['qemu-aarch64', '-L', '/usr/aarch64-linux-gnu']}


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


def targets():
    """(target, runner) for every target this machine can run; prints SKIP for the others."""
    for target, runner in TARGETS.items():
        if runner and not shutil.which(runner[0]):
            print(f'SKIP {target}: {runner[0]} is not installed')
            continue
        yield target, runner


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
