#!/usr/bin/python3
"""make_zoo_models.py - write the broad benchmark set: torchvision architectures and two
transformer language models, exported to ONNX as a user would export them.

usage: /usr/bin/python3 bench/make_zoo_models.py OUT_DIR [--only NAME,...] [--list]

kiln's heuristics were fitted to five models; this set is what a new user brings. Every
family appears at least once: residual v1.5 (stride on the 3x3), grouped (ResNeXt, RegNet),
densely connected, Inception-style (asymmetric 1x7/7x1 kernels, concatenation), fire
modules, inverted residuals with 5x5 depthwise and squeeze-excitation (MNASNet, EfficientNet,
MobileNetV3), channel shuffle, ConvNeXt (7x7 depthwise, LayerNorm, GELU), transformers
(ViT-B/16, Swin-T, a BERT-style encoder, a GPT-style causal decoder), segmentation heads
(DeepLabV3 with dilated ASPP, LR-ASPP, bilinear upsampling), plus batch 4 and non-square
inputs. `--list` prints the set as JSON (name, input shapes, description) for bench/lib.js.

Weights are random from a fixed seed (torchvision's own initialisation; no downloads). A
randomly initialised network with BatchNorm's default statistics (mean 0, variance 1) grows
or shrinks its activations layer by layer, so the BatchNorm statistics are calibrated: each
BN's running mean and variance are set to the exact averages over a few random batches
(momentum None, train mode), as training would have left them; activations stay O(1) and
timings are not skewed by denormals or saturated activations. Export: torch.onnx.export in
eval mode, opset 17, constant folding on (Conv+BN fused, as exporters do by default).
Needs Debian's python3-torchvision (not installed by scripts/setup: only benchmarks use it).
"""
import json
import math
import os
import sys

try:
    import torch
    import torch.nn as nn
    import torchvision.models as tvm
    import torchvision.models.segmentation as tvs
except ImportError as e:  # only the benchmarks need it, so scripts/setup does not install it
    sys.exit(f'make_zoo_models.py: {e}; install Debian\'s python3-torchvision '
             '(apt-get install python3-torchvision)')

OPSET = 17


class BertEncoder(nn.Module):
    """BERT-base-shaped encoder (6 layers, 768 wide, 12 heads, GELU) over embedded tokens
    (an 8192-token vocabulary keeps the file small; the gather costs the same)."""

    def __init__(self, vocab=8192, width=768, layers=6, heads=12, seq=128):
        super().__init__()
        self.tokens = nn.Embedding(vocab, width)
        self.positions = nn.Parameter(torch.randn(1, seq, width) * 0.02)
        self.norm = nn.LayerNorm(width)
        layer = nn.TransformerEncoderLayer(width, heads, 4 * width, dropout=0.0,
                                           activation='gelu', batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.pooler = nn.Linear(width, width)

    def forward(self, ids):
        x = self.norm(self.tokens(ids) + self.positions)
        x = self.encoder(x)
        return torch.tanh(self.pooler(x[:, 0])), x


class GptBlock(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.fc, self.out = nn.Linear(width, 4 * width), nn.Linear(4 * width, width)

    def forward(self, x, mask):
        b, t, c = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(c, dim=2)
        shape = (b, t, self.heads, c // self.heads)
        q, k, v = (y.reshape(shape).transpose(1, 2) for y in (q, k, v))
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(c // self.heads)) + mask
        y = (att.softmax(-1) @ v).transpose(1, 2).reshape(b, t, c)
        x = x + self.proj(y)
        return x + self.out(nn.functional.gelu(self.fc(self.ln2(x)), approximate='tanh'))


class GptDecoder(nn.Module):
    """GPT-2-small-shaped causal decoder (6 layers, 768 wide, 12 heads, tanh GELU), logits of
    the last position over an 8192-token vocabulary tied to the embedding."""

    def __init__(self, vocab=8192, width=768, layers=6, heads=12, seq=128):
        super().__init__()
        self.tokens = nn.Embedding(vocab, width)
        nn.init.normal_(self.tokens.weight, std=0.02)
        self.positions = nn.Parameter(torch.randn(1, seq, width) * 0.02)
        self.blocks = nn.ModuleList(GptBlock(width, heads) for _ in range(layers))
        self.norm = nn.LayerNorm(width)
        self.register_buffer('mask', torch.triu(torch.full((seq, seq), -1e4), 1))

    def forward(self, ids):
        x = self.tokens(ids) + self.positions
        for block in self.blocks:
            x = block(x, self.mask)
        return self.norm(x[:, -1]) @ self.tokens.weight.t()


class OutOnly(nn.Module):
    """Segmentation models return a dict; export its 'out' tensor."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        return self.model(x)['out']


def vit_b16():
    model = tvm.vit_b_16()
    nn.init.normal_(model.heads.head.weight, std=0.02)  # torchvision zeroes it: outputs all 0
    return model


def image(n=1, h=224, w=224):
    return {'x': [n, 3, h, w]}


# name -> (builder, inputs, description). Inputs are image batches unless they are 'ids'.
ZOO = {
    'resnet50v15': (lambda: tvm.resnet50(), image(), 'ResNet-50 v1.5 (stride on the 3x3)'),
    'resnet18_b4': (lambda: tvm.resnet18(), image(4), 'ResNet-18, batch 4'),
    'resnext50': (lambda: tvm.resnext50_32x4d(), image(), 'ResNeXt-50 32x4d (grouped 3x3, 32 groups)'),
    'regnety400': (lambda: tvm.regnet_y_400mf(), image(), 'RegNetY-400MF (group width 8, squeeze-excitation)'),
    'regnetx800': (lambda: tvm.regnet_x_800mf(), image(), 'RegNetX-800MF (group width 16)'),
    'densenet121': (lambda: tvm.densenet121(), image(), 'DenseNet-121 (dense concatenation)'),
    'inception3': (lambda: tvm.inception_v3(aux_logits=False, init_weights=True), image(1, 299, 299),
                   'Inception-v3 (1x7/7x1, concatenation), 299x299'),
    'googlenet': (lambda: tvm.googlenet(aux_logits=False, init_weights=True), image(), 'GoogLeNet'),
    'squeezenet': (lambda: tvm.squeezenet1_1(), image(), 'SqueezeNet 1.1 (fire modules)'),
    'mnasnet': (lambda: tvm.mnasnet1_0(), image(), 'MNASNet 1.0 (5x5 depthwise)'),
    'efficientnetb0': (lambda: tvm.efficientnet_b0(), image(), 'EfficientNet-B0 (SiLU, SE, 5x5 depthwise)'),
    'mobilenetv3': (lambda: tvm.mobilenet_v3_large(), image(), 'MobileNetV3-Large (hardswish, SE)'),
    'shufflenetv2': (lambda: tvm.shufflenet_v2_x1_0(), image(), 'ShuffleNetV2 1.0 (channel shuffle)'),
    'convnext_tiny': (lambda: tvm.convnext_tiny(), image(), 'ConvNeXt-T (7x7 depthwise, LayerNorm, GELU)'),
    'efficientnetv2s': (lambda: tvm.efficientnet_v2_s(), image(), 'EfficientNetV2-S (fused MBConv: full 3x3 expansions)'),
    'vit_b16': (vit_b16, image(), 'ViT-B/16 (197 tokens)'),
    'swin_t': (lambda: tvm.swin_t(), image(), 'Swin-T (shifted windows)'),
    'bert': (lambda: BertEncoder(), {'ids': [1, 128]}, 'BERT-style encoder, 6x768, 128 tokens'),
    'gpt': (lambda: GptDecoder(), {'ids': [1, 128]}, 'GPT-style decoder, 6x768, 128 tokens'),
    'deeplabv3': (lambda: OutOnly(tvs.deeplabv3_mobilenet_v3_large(weights_backbone=None, aux_loss=False)),
                  image(1, 320, 320), 'DeepLabV3 MobileNetV3 (dilated ASPP, bilinear upsampling), 320x320'),
    'lraspp': (lambda: OutOnly(tvs.lraspp_mobilenet_v3_large(weights_backbone=None)), image(1, 384, 512),
               'LR-ASPP MobileNetV3 segmentation, 384x512'),
    'mobilenetv2_wide': (lambda: tvm.mobilenet_v2(), image(1, 192, 320), 'MobileNetV2, non-square 192x320'),
    'resnet50v15_wide': (lambda: tvm.resnet50(), image(1, 256, 448), 'ResNet-50 v1.5, non-square 256x448'),
}


def example_inputs(inputs, generator):
    tensors = []
    for name, shape in inputs.items():
        if name == 'ids':
            tensors.append(torch.randint(0, 8192, shape, generator=generator))
        else:
            tensors.append(torch.randn(shape, generator=generator))
    return tensors


def calibrate_batchnorm(model, inputs, generator, batches=4):
    """Running statistics = exact averages over a few random batches (what training leaves)."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    model.train()
    with torch.no_grad():
        for _ in range(batches):
            batch = []
            for name, shape in inputs.items():
                shape = [max(2, shape[0])] + shape[1:]  # BN in train mode needs more than one value
                batch.append(torch.randn(shape, generator=generator))
            model(*batch)
    model.eval()


def export(name, out_dir):
    builder, inputs, _ = ZOO[name]
    torch.manual_seed(1234)
    generator = torch.Generator().manual_seed(1234)
    model = builder()
    calibrate_batchnorm(model, inputs, generator)
    model.eval()
    args = example_inputs(inputs, generator)
    path = os.path.join(out_dir, f'{name}.onnx')
    tmp = path + '.tmp'
    with torch.no_grad():
        outputs = model(*args)
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    # Exported with gradients enabled: under no_grad, PyTorch's attention layers take a fused
    # fast path (aten::_native_multi_head_attention) that has no ONNX export.
    torch.onnx.export(model, tuple(args), tmp, opset_version=OPSET, do_constant_folding=True,
                      input_names=list(inputs), output_names=[f'y{i}' for i in range(len(outputs))])
    os.replace(tmp, path)
    scale = max(float(o.abs().max()) for o in outputs)
    print(f'{name}: wrote {path} ({os.path.getsize(path) / 1e6:.1f} MB, |output| max {scale:.3g})')


def main():
    args = sys.argv[1:]
    if '--list' in args:
        print(json.dumps({n: {'inputs': v[1], 'about': v[2],
                              'dtypes': {k: 'int64' for k in v[1] if k == 'ids'}}
                          for n, v in ZOO.items()}, indent=1))
        return
    if not args or args[0].startswith('-'):
        sys.exit(__doc__.split('\n\n')[1])
    out_dir = args[0]
    only = list(ZOO)
    if '--only' in args:
        only = args[args.index('--only') + 1].split(',')
        unknown = [n for n in only if n not in ZOO]
        if unknown:
            sys.exit(f'make_zoo_models.py: unknown model(s) {",".join(unknown)}; known: {",".join(ZOO)}')
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    for name in only:
        export(name, out_dir)


if __name__ == '__main__':
    main()
