#!/usr/bin/python3
"""make_bench_models.py - write MobileNetV2 and ResNet-50 v1 as ONNX (opset 13) for benchmarks.

usage: /usr/bin/python3 scripts/make_bench_models.py OUT_DIR [--only mobilenetv2,resnet50]
                                                      [--no-ort]

The benchmarks (bench/run.js) compare kiln with onnxruntime on models shaped like the ones
people deploy. Downloading real weights is not an option here, so this script builds the two
classic ImageNet classifiers node by node with the standard architectures:

  mobilenetv2.onnx  1x3x224x224 -> 1x1000: Conv/BN/Clip(0,6) stem, 17 inverted residual blocks
                    (expand 1x1, depthwise 3x3, project 1x1, residual Add where shapes allow),
                    1x1 conv to 1280, GlobalAveragePool, Flatten, Gemm 1000.
  resnet50.onnx     1x3x224x224 -> 1x1000: 7x7/2 conv, BN, Relu, MaxPool 3x3/2, bottleneck
                    stages [3, 4, 6, 3] (v1: the stride sits on the first 1x1 conv, projection
                    shortcut with its own BN), GlobalAveragePool, Reshape, Gemm 1000.

BatchNormalization nodes stay separate from the convolutions (convs carry no bias), as a real
exported training graph has them, so the compiler's folding is part of what is measured.
Weights are random from a fixed seed with He initialisation. The BN statistics are made
realistic by calibration: a NumPy forward pass on a fixed random input records each BN input's
per-channel mean and variance and stores them (with a little noise) as the running stats, with
gamma around 1 (smaller on the last BN of a residual branch, as zero-gamma init tends to leave
it) and a small beta. Activations therefore stay O(1) through the whole network instead of
exploding or vanishing, so timings are not skewed by denormals or saturated clips.

Each model is checked with onnx.checker, and, when node and onnxruntime-node are available,
run once through onnxruntime and compared with the NumPy forward pass (a sanity check that the
graph means what this script thinks; pass --no-ort to skip).
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---------------------------------------------------------------------------------------------
# NumPy reference ops (batch 1, NCHW, float32). Only what the two models need.

def np_conv(x, w, stride, pad, group):
    """Convolution of x (1,C,H,W) with w (O,C/group,kh,kw); symmetric padding."""
    _, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    xp = np.pad(x[0], ((0, 0), (pad, pad), (pad, pad)))
    ho = (h + 2 * pad - kh) // stride + 1
    wo = (wd + 2 * pad - kw) // stride + 1
    if group == c and cg == 1 and o == c:  # depthwise: accumulate the kh*kw shifted planes
        out = np.zeros((c, ho, wo), np.float32)
        for i in range(kh):
            for j in range(kw):
                plane = xp[:, i:i + stride * (ho - 1) + 1:stride, j:j + stride * (wo - 1) + 1:stride]
                out += w[:, 0, i, j][:, None, None] * plane
        return out[None]
    assert group == 1
    if kh == 1 and kw == 1:
        cols = xp[:, ::stride, ::stride][:, :ho, :wo].reshape(c, ho * wo)
    else:  # im2col: (C*kh*kw, Ho*Wo)
        cols = np.empty((c, kh, kw, ho, wo), np.float32)
        for i in range(kh):
            for j in range(kw):
                cols[:, i, j] = xp[:, i:i + stride * (ho - 1) + 1:stride,
                                   j:j + stride * (wo - 1) + 1:stride]
        cols = cols.reshape(c * kh * kw, ho * wo)
    return (w.reshape(o, -1) @ cols).reshape(1, o, ho, wo)


def np_maxpool3x3s2(x):
    _, c, h, w = x.shape
    xp = np.pad(x[0], ((0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    ho, wo = (h - 1) // 2 + 1, (w - 1) // 2 + 1
    out = np.full((c, ho, wo), -np.inf, np.float32)
    for i in range(3):
        for j in range(3):
            out = np.maximum(out, xp[:, i:i + 2 * (ho - 1) + 1:2, j:j + 2 * (wo - 1) + 1:2])
    return out[None]


# ---------------------------------------------------------------------------------------------
# Graph builder: emits ONNX nodes and computes the NumPy forward pass alongside, so BN stats
# can be calibrated from the real activations as the graph is built.

class Builder:
    def __init__(self, seed, x):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits = [], []
        self.values = {}  # tensor name -> NumPy value on the calibration input
        self.count = 0
        self.values['x'] = x

    def name(self, prefix):
        self.count += 1
        return f'{prefix}_{self.count}'

    def init(self, prefix, array):
        n = self.name(prefix)
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), n))
        return n

    def conv(self, x, out_ch, k, stride=1, group=1, bias=False):
        """Conv with He-normal weights (fan_in = C/group*k*k); 'same' padding for odd k."""
        in_ch = self.values[x].shape[1]
        fan_in = in_ch // group * k * k
        w = (self.rng.standard_normal((out_ch, in_ch // group, k, k)) *
             np.sqrt(2.0 / fan_in)).astype(np.float32)
        inputs = [x, self.init('w', w)]
        y = np_conv(self.values[x], w, stride, k // 2, group)
        if bias:
            b = (self.rng.standard_normal(out_ch) * 0.01).astype(np.float32)
            inputs.append(self.init('b', b))
            y = y + b[None, :, None, None]
        out = self.name('conv')
        self.nodes.append(helper.make_node(
            'Conv', inputs, [out], name=out, kernel_shape=[k, k], strides=[stride, stride],
            pads=[k // 2] * 4, group=group, dilations=[1, 1]))
        self.values[out] = y.astype(np.float32)
        return out

    def bn(self, x, gamma_scale=1.0):
        """BatchNormalization with running stats calibrated from the actual input."""
        v = self.values[x]
        c = v.shape[1]
        mean = v.mean(axis=(0, 2, 3)) * (1 + 0.05 * self.rng.standard_normal(c))
        var = v.var(axis=(0, 2, 3)) * (1 + 0.1 * self.rng.uniform(-1, 1, c)) + 1e-3
        gamma = gamma_scale * self.rng.uniform(0.7, 1.3, c)
        beta = 0.1 * self.rng.standard_normal(c)
        params = [a.astype(np.float32) for a in (gamma, beta, mean, var)]
        eps = 1e-5
        names = [self.init(p, a) for p, a in zip(('gamma', 'beta', 'mean', 'var'), params)]
        out = self.name('bn')
        self.nodes.append(helper.make_node('BatchNormalization', [x] + names, [out], name=out,
                                           epsilon=eps, momentum=0.9))
        g, b, m, s = (a[None, :, None, None] for a in params)
        self.values[out] = ((v - m) / np.sqrt(s + eps) * g + b).astype(np.float32)
        return out

    def relu(self, x):
        out = self.name('relu')
        self.nodes.append(helper.make_node('Relu', [x], [out], name=out))
        self.values[out] = np.maximum(self.values[x], 0)
        return out

    def relu6(self, x):
        """ReLU6 as exported by PyTorch at opset >= 11: Clip with min/max inputs."""
        if not hasattr(self, 'clip_bounds'):
            self.clip_bounds = (self.init('clip_min', np.array(0, np.float32)),
                                self.init('clip_max', np.array(6, np.float32)))
        out = self.name('clip')
        self.nodes.append(helper.make_node('Clip', [x, *self.clip_bounds], [out], name=out))
        self.values[out] = np.clip(self.values[x], 0, 6)
        return out

    def add(self, a, b):
        out = self.name('add')
        self.nodes.append(helper.make_node('Add', [a, b], [out], name=out))
        self.values[out] = self.values[a] + self.values[b]
        return out

    def maxpool(self, x):
        out = self.name('maxpool')
        self.nodes.append(helper.make_node('MaxPool', [x], [out], name=out, kernel_shape=[3, 3],
                                           strides=[2, 2], pads=[1, 1, 1, 1]))
        self.values[out] = np_maxpool3x3s2(self.values[x])
        return out

    def global_avg_pool(self, x):
        out = self.name('gap')
        self.nodes.append(helper.make_node('GlobalAveragePool', [x], [out], name=out))
        self.values[out] = self.values[x].mean(axis=(2, 3), keepdims=True)
        return out

    def flatten(self, x):
        out = self.name('flatten')
        self.nodes.append(helper.make_node('Flatten', [x], [out], name=out, axis=1))
        self.values[out] = self.values[x].reshape(1, -1)
        return out

    def reshape(self, x):
        out = self.name('reshape')
        shape = self.init('shape', np.array([1, -1], np.int64))
        self.nodes.append(helper.make_node('Reshape', [x, shape], [out], name=out))
        self.values[out] = self.values[x].reshape(1, -1)
        return out

    def gemm(self, x, n_out, out_name):
        """Fully connected layer as PyTorch exports it: Gemm with transB=1."""
        k = self.values[x].shape[1]
        w = (self.rng.standard_normal((n_out, k)) * np.sqrt(1.0 / k)).astype(np.float32)
        b = (self.rng.standard_normal(n_out) * 0.01).astype(np.float32)
        self.nodes.append(helper.make_node('Gemm', [x, self.init('fc_w', w), self.init('fc_b', b)],
                                           [out_name], name='fc', transB=1))
        self.values[out_name] = self.values[x] @ w.T + b
        return out_name

    def model(self, graph_name, out_name):
        """Returns (ModelProto, NumPy value of the output on the calibration input)."""
        x = self.values['x']
        y = self.values[out_name]
        graph = helper.make_graph(
            self.nodes, graph_name,
            [helper.make_tensor_value_info('x', TensorProto.FLOAT, list(x.shape))],
            [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, list(y.shape))],
            self.inits)
        m = helper.make_model(graph, producer_name='kiln make_bench_models.py',
                              opset_imports=[helper.make_opsetid('', OPSET)])
        m.ir_version = 7  # opset 13's IR version; keeps older runtimes happy
        return m, y


# ---------------------------------------------------------------------------------------------
# The two architectures.

def mobilenetv2(x):
    b = Builder(seed=2, x=x)
    h = b.relu6(b.bn(b.conv('x', 32, 3, stride=2)))
    in_ch = 32
    # (expansion t, output channels c, repeats n, first stride s), from the paper's Table 2
    for t, c, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                       (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]:
        for i in range(n):
            stride = s if i == 0 else 1
            y = h
            if t != 1:
                y = b.relu6(b.bn(b.conv(y, in_ch * t, 1)))
            y = b.relu6(b.bn(b.conv(y, in_ch * t, 3, stride=stride, group=in_ch * t)))
            residual = stride == 1 and in_ch == c
            y = b.bn(b.conv(y, c, 1), gamma_scale=0.3 if residual else 1.0)  # linear bottleneck
            h = b.add(h, y) if residual else y
            in_ch = c
    h = b.relu6(b.bn(b.conv(h, 1280, 1)))
    h = b.flatten(b.global_avg_pool(h))
    b.gemm(h, 1000, 'logits')
    return b.model('mobilenetv2', 'logits')


def resnet50(x):
    b = Builder(seed=50, x=x)
    h = b.maxpool(b.relu(b.bn(b.conv('x', 64, 7, stride=2))))
    in_ch = 64
    for stage, (width, blocks) in enumerate([(64, 3), (128, 4), (256, 6), (512, 3)]):
        for i in range(blocks):
            stride = 2 if i == 0 and stage > 0 else 1
            y = b.relu(b.bn(b.conv(h, width, 1, stride=stride)))  # v1: stride on the 1x1
            y = b.relu(b.bn(b.conv(y, width, 3)))
            y = b.bn(b.conv(y, width * 4, 1), gamma_scale=0.3)
            shortcut = h
            if i == 0:  # projection shortcut where channels or resolution change
                shortcut = b.bn(b.conv(h, width * 4, 1, stride=stride))
            h = b.relu(b.add(shortcut, y))
            in_ch = width * 4
    h = b.reshape(b.global_avg_pool(h))
    b.gemm(h, 1000, 'logits')
    return b.model('resnet50', 'logits')


MODELS = {'mobilenetv2': mobilenetv2, 'resnet50': resnet50}


# ---------------------------------------------------------------------------------------------

ORT_CHECK_JS = r"""
const path = require('path');
const ort = require(path.join(process.argv[1], 'node_modules/onnxruntime-node'));
const { readNpy } = require(path.join(process.argv[1], 'scripts/lib/npy'));
(async () => {
  const x = readNpy(process.argv[3]);
  const s = await ort.InferenceSession.create(process.argv[2]);
  const out = await s.run({ x: new ort.Tensor('float32', x.data, x.shape) });
  const y = out[s.outputNames[0]];
  console.log(JSON.stringify({ dims: y.dims, data: Array.from(y.data) }));
})().catch(e => { console.error(e.message); process.exit(1); });
"""


def check_with_ort(path, x, expected):
    """Runs the model once with onnxruntime-node; returns a message, or None when unavailable."""
    if not os.path.isdir(os.path.join(REPO, 'node_modules/onnxruntime-node')):
        return None
    with tempfile.TemporaryDirectory() as tmp:
        xfile = os.path.join(tmp, 'x.npy')
        np.save(xfile, x)
        try:
            res = subprocess.run(['node', '-e', ORT_CHECK_JS, REPO, path, xfile],
                                 capture_output=True, text=True, check=True)
        except FileNotFoundError:
            return None
        except subprocess.CalledProcessError as e:
            raise SystemExit(f'{path}: onnxruntime failed: {e.stderr.strip()}')
    got = json.loads(res.stdout)
    y = np.array(got['data'], np.float32).reshape(got['dims'])
    diff = float(np.abs(y - expected).max())
    scale = max(1.0, float(np.abs(expected).max()))
    if diff > 1e-3 * scale:
        raise SystemExit(f'{path}: onnxruntime disagrees with the NumPy forward pass '
                         f'(max abs diff {diff:.3g}, max |ref| {scale:.3g})')
    return f'onnxruntime ok (max abs diff vs NumPy {diff:.2e})'


def main(argv):
    if len(argv) < 2 or argv[1].startswith('-'):
        sys.exit(__doc__.split('\n\n')[0] + '\n\n' + __doc__.split('\n\n')[1])
    out_dir = argv[1]
    only = list(MODELS)
    run_ort = True
    i = 2
    while i < len(argv):
        if argv[i] == '--only':
            only = argv[i + 1].split(',')
            i += 2
        elif argv[i] == '--no-ort':
            run_ort = False
            i += 1
        else:
            sys.exit(f'unknown option {argv[i]}')
    unknown = [m for m in only if m not in MODELS]
    if unknown:
        sys.exit(f'unknown model(s) {",".join(unknown)}; known: {",".join(MODELS)}')
    os.makedirs(out_dir, exist_ok=True)
    x = np.random.default_rng(0).uniform(-1, 1, (1, 3, 224, 224)).astype(np.float32)
    for name in only:
        model, logits = MODELS[name](x)
        onnx.checker.check_model(model, full_check=True)
        path = os.path.join(out_dir, f'{name}.onnx')
        tmp = path + '.tmp'  # written aside, then renamed: a half-written model never exists
        onnx.save(model, tmp)
        note = check_with_ort(tmp, x, logits) if run_ort else None
        os.replace(tmp, path)
        params = sum(int(np.prod(t.dims)) for t in model.graph.initializer) / 1e6
        print(f'{path}: {len(model.graph.node)} nodes, {params:.1f} M parameters, '
              f'logits std {logits.std():.2f}; {note or "onnxruntime check skipped"}', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
