#!/usr/bin/env python3
"""make_tiny_models.py OUT_DIR - writes MLPerf Tiny-shaped models as ONNX, float and int8 QDQ.

The four MLPerf Tiny v1.0 benchmark architectures, with the published layer shapes and
random weights (He-scaled, so activations stay O(1); batch norm is folded, as deployed):
  kws_dscnn   DS-CNN keyword spotting: 49x10 MFCC, conv 10x4/2 to 64, 4 depthwise-separable
              blocks, average pool, 12 classes
  vww_mbv1    MobileNetV1 alpha 0.25 visual wake words: 96x96 RGB, 13 depthwise-separable
              blocks, 2 classes
  ic_resnet8  ResNet-8 image classification: 32x32 RGB, 3 residual stages (16, 32, 64), 10
              classes
  ad_fc       FC autoencoder anomaly detection: 640 -> 128 x4 -> 8 -> 128 x4 -> 640
Each also as NAME_int8.onnx in the QDQ form onnxruntime's quantizer and TFLite converters
export: int8 weight initializers behind DequantizeLinear, and per-tensor int8
QuantizeLinear/DequantizeLinear pairs on the input and the activations after each layer.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


class Builder:
    def __init__(self, name, seed, quantize):
        self.name, self.nodes, self.inits, self.n = name, [], [], 0
        self.rng = np.random.default_rng(seed)
        self.quantize = quantize

    def fresh(self, base):
        self.n += 1
        return f"{base}_{self.n}"

    def const(self, base, array):
        name = self.fresh(base)
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def qdq(self, value, scale):
        """value -> QuantizeLinear -> DequantizeLinear (int8, zero point 0)."""
        if not self.quantize:
            return value
        s = self.const("scale", np.array(scale, np.float32))
        z = self.const("zero", np.array(0, np.int8))
        q, d = self.fresh("q"), self.fresh("dq")
        self.nodes.append(helper.make_node("QuantizeLinear", [value, s, z], [q]))
        self.nodes.append(helper.make_node("DequantizeLinear", [q, s, z], [d]))
        return d

    def weight(self, base, shape, fan_in):
        w = (self.rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)
        if not self.quantize:
            return self.const(base, w)
        # As exporters write them: int8 initializers and a DequantizeLinear.
        scale = float(np.abs(w).max()) / 127.0
        q = self.const(base, np.clip(np.round(w / scale), -127, 127).astype(np.int8))
        s = self.const("scale", np.array(scale, np.float32))
        z = self.const("zero", np.array(0, np.int8))
        d = self.fresh("dq")
        self.nodes.append(helper.make_node("DequantizeLinear", [q, s, z], [d]))
        return d

    def bias(self, channels):
        return self.const("b", (self.rng.standard_normal(channels) * 0.05).astype(np.float32))

    def conv(self, x, cin, cout, kernel, stride=1, group=1, relu=True):
        kh, kw = kernel
        w = self.weight("w", (cout, cin // group, kh, kw), cin // group * kh * kw)
        y = self.fresh("conv")
        pads = [(kh - 1) // 2, (kw - 1) // 2, kh // 2, kw // 2]
        self.nodes.append(helper.make_node("Conv", [x, w, self.bias(cout)], [y], group=group,
                                           kernel_shape=[kh, kw], strides=[stride, stride],
                                           pads=pads))
        return self.act(y, relu)

    def act(self, y, relu, scale=4.0 / 127.0):
        if relu:
            r = self.fresh("relu")
            self.nodes.append(helper.make_node("Relu", [y], [r]))
            y = r
        return self.qdq(y, scale)

    def dense(self, x, cin, cout, relu=True):
        w = self.weight("fc", (cin, cout), cin)
        y = self.fresh("gemm")
        self.nodes.append(helper.make_node("Gemm", [x, w, self.bias(cout)], [y]))
        return self.act(y, relu)

    def pool_flatten(self, x):
        p, f = self.fresh("pool"), self.fresh("flat")
        self.nodes.append(helper.make_node("GlobalAveragePool", [x], [p]))
        self.nodes.append(helper.make_node("Flatten", [p], [f], axis=1))
        return f

    def softmax(self, x):
        y = "probabilities"
        self.nodes.append(helper.make_node("Softmax", [x], [y], axis=1))
        return y

    def model(self, input_shape, output, output_shape):
        graph = helper.make_graph(
            self.nodes, self.name,
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, input_shape)],
            [helper.make_tensor_value_info(output, TensorProto.FLOAT, output_shape)],
            self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
        model.ir_version = 8
        onnx.checker.check_model(model)
        return model


def kws_dscnn(b):
    x = b.qdq("input", 8.0 / 127.0)
    x = b.conv(x, 1, 64, (10, 4), stride=2)
    for _ in range(4):
        x = b.conv(x, 64, 64, (3, 3), group=64)
        x = b.conv(x, 64, 64, (1, 1))
    x = b.dense(b.pool_flatten(x), 64, 12, relu=False)
    return b.model([1, 1, 49, 10], b.softmax(x), [1, 12])


def vww_mbv1(b):
    x = b.qdq("input", 1.0 / 127.0)
    x = b.conv(x, 3, 8, (3, 3), stride=2)
    blocks = [(8, 16, 1), (16, 32, 2), (32, 32, 1), (32, 64, 2), (64, 64, 1), (64, 128, 2)]
    blocks += [(128, 128, 1)] * 5 + [(128, 256, 2), (256, 256, 1)]
    for cin, cout, stride in blocks:
        x = b.conv(x, cin, cin, (3, 3), stride=stride, group=cin)
        x = b.conv(x, cin, cout, (1, 1))
    x = b.dense(b.pool_flatten(x), 256, 2, relu=False)
    return b.model([1, 3, 96, 96], b.softmax(x), [1, 2])


def ic_resnet8(b):
    x = b.qdq("input", 1.0 / 127.0)
    x = b.conv(x, 3, 16, (3, 3))
    for cin, cout, stride in [(16, 16, 1), (16, 32, 2), (32, 64, 2)]:
        y = b.conv(x, cin, cout, (3, 3), stride=stride)
        y = b.conv(y, cout, cout, (3, 3), relu=False)
        shortcut = x if stride == 1 else b.conv(x, cin, cout, (1, 1), stride=stride, relu=False)
        s = b.fresh("add")
        b.nodes.append(helper.make_node("Add", [y, shortcut], [s]))
        x = b.act(s, True)
    x = b.dense(b.pool_flatten(x), 64, 10, relu=False)
    return b.model([1, 3, 32, 32], b.softmax(x), [1, 10])


def ad_fc(b):
    x = b.qdq("input", 8.0 / 127.0)
    sizes = [640, 128, 128, 128, 128, 8, 128, 128, 128, 128]
    for cin, cout in zip(sizes, sizes[1:]):
        x = b.dense(x, cin, cout)
    x = b.dense(x, 128, 640, relu=False)
    b.nodes.append(helper.make_node("Identity", [x], ["reconstruction"]))
    return b.model([1, 640], "reconstruction", [1, 640])


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    os.makedirs(out, exist_ok=True)
    for seed, (name, make) in enumerate([("kws_dscnn", kws_dscnn), ("vww_mbv1", vww_mbv1),
                                         ("ic_resnet8", ic_resnet8), ("ad_fc", ad_fc)]):
        for quantize in (False, True):
            file = name + ("_int8" if quantize else "") + ".onnx"
            onnx.save(make(Builder(name, seed, quantize)), os.path.join(out, file))
            print(os.path.join(out, file))


if __name__ == "__main__":
    main()
