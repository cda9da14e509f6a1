// quantization.js - size and accuracy of kiln's --quantize formats against kiln's own float build.
//
// usage: node bench/quantization.js [--models cls,rec,mobilenetv2,resnet50]
//                                   [--formats q8_0,q4_0,q4_1,q5_0,q5_1,int8]
//                                   [--inputs 100] [--seed 5000] [--threads 1]
//                                   [--kiln build/compiler/kiln] [--out docs/quantization.md]
//
// `kiln compile --quantize FORMAT` stores matmul and conv weights in a GGML block format (or
// int8 per output channel) and decodes them inside the kernels that read them. This script
// measures what that costs in accuracy and saves in bytes. For each model it compiles a float
// build and one build per format (cached under bench/work/quant/<model>/, with the
// `--report` listing beside each executable), writes N pseudo-random inputs from a fixed seed
// (all of them first), then runs every executable once per input. Per format it reports the
// weights file size (OUT.gguf) and its ratio to float, how many quantizable layers were
// quantized, and, against the float build's output on the same input: the largest and the
// mean absolute difference over all outputs and inputs, the mean and the minimum over inputs of
// the cosine similarity, and top-1 agreement (argmax of the first output equal). The reference
// is kiln's float build, not onnxruntime, so only the quantization error is measured (bench/run.js
// checks float kiln against onnxruntime). Results: a table on stdout and --out.
//
// bench/quant_matvec.js reuses compileVariant() from here for its latency table; the models
// are bench/lib.js's.
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const lib = require('./lib');
const { writeNpy, readNpy } = require('../scripts/lib/npy');

const USAGE = 'usage: node bench/quantization.js [--models cls,rec,mobilenetv2,resnet50] ' +
  '[--formats q8_0,q4_0,q4_1,q5_0,q5_1,int8] [--inputs 100] [--seed 5000] [--threads 1] ' +
  '[--kiln build/compiler/kiln] [--out docs/quantization.md]';

const FORMATS = ['q8_0', 'q4_0', 'q4_1', 'q5_0', 'q5_1', 'int8'];
const DIR = path.join(lib.WORK, 'quant');
// det is timed by bench/quant_matvec.js but left out of the accuracy table by default
// (lib.MODELS marks it): on random inputs its probability map is about 0 everywhere (mean
// 2.6e-7), so a cosine over it measures rounding noise, not the quantization.
const MODELS = lib.MODELS;

/// The `--report` text of kiln compile, parsed: one entry per quantizable layer
/// ({name, kind, shape, format, bytes}, format 'float' when kept) and the totals.
function parseReport(text) {
  const layers = [];
  for (const m of text.matchAll(/^ {2}(.*) {2}(\w+) {2}\[([\d,]*)\] {2}(\w+) (\d+).*$/gm)) {
    layers.push({ name: m[1], kind: m[2], shape: m[3].split(',').map(Number), format: m[4],
                  bytes: Number(m[5]), line: m[0] });
  }
  const total = /weights of quantizable layers: (\d+) bytes as float, (\d+) bytes stored/.exec(text);
  return { layers, floatBytes: total ? Number(total[1]) : null, storedBytes: total ? Number(total[2]) : null,
           quantized: layers.filter(l => l.format !== 'float').length,
           raised: layers.filter(l => / \((residual writer|small layer)\)$/.test(l.line)).length };
}

/// Why a spawnSync result failed (exit status, signal, or the spawn error itself) and its output.
const failure = res => (res.error ? res.error.message
                                   : `exit ${res.status}${res.signal ? ', ' + res.signal : ''}`);
const output = res => `${res.stdout || ''}${res.stderr || ''}`;

/// Compiles `model` into `exe` (and exe.gguf) with `--quantize format` ('float': none) and
/// `--report`, unless exe is newer than the model and kiln; the report is kept in exe.report.
/// KILN_CACHE_DIR defaults to bench/work/kiln-cache. Returns {seconds (null when cached), report}.
function compileVariant(kiln, model, exe, shapes, format) {
  const reportFile = exe + '.report';
  const newest = Math.max(fs.statSync(model).mtimeMs, fs.statSync(kiln).mtimeMs);
  const fresh = f => fs.existsSync(f) && fs.statSync(f).mtimeMs > newest;
  if (fresh(exe) && fresh(exe + '.gguf') && fs.existsSync(reportFile)) {
    return { seconds: null, report: parseReport(fs.readFileSync(reportFile, 'utf8')) };
  }
  fs.mkdirSync(path.dirname(exe), { recursive: true });
  const args = ['compile', model, '-o', exe, '--target', 'host'];
  for (const [name, shape] of Object.entries(shapes)) args.push('--input-shape', `${name}=${shape.join(',')}`);
  if (format !== 'float') args.push('--quantize', format, '--report');
  const env = { ...process.env, KILN_CACHE_DIR: process.env.KILN_CACHE_DIR || path.join(lib.WORK, 'kiln-cache') };
  const start = process.hrtime.bigint();
  const res = spawnSync(kiln, args, { encoding: 'utf8', env, maxBuffer: 64 << 20 });
  if (res.status !== 0) {
    throw new Error(`kiln compile failed (${failure(res)}): ${kiln} ${args.join(' ')}\n${output(res)}`);
  }
  fs.writeFileSync(reportFile, res.stdout);
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, report: parseReport(res.stdout) };
}

/// Runs `exe` once on `inputFiles` ({name: .npy}); returns its outputs as [{name, data}] sorted
/// by name (data as Float64Array), read back from a scratch --output-dir.
function runOnce(exe, inputFiles, threads, scratch) {
  fs.rmSync(scratch, { recursive: true, force: true });
  const args = [];
  for (const [name, file] of Object.entries(inputFiles)) args.push('--input', `${name}=${file}`);
  args.push('--output-dir', scratch, '--threads', String(threads));
  const res = spawnSync(exe, args, { encoding: 'utf8' });
  if (res.status !== 0) {
    throw new Error(`kiln executable failed (${failure(res)}): ${exe} ${args.join(' ')}\n${output(res)}`);
  }
  return fs.readdirSync(scratch).filter(f => f.endsWith('.npy')).sort()
    .map(f => ({ name: f.replace(/\.npy$/, ''),
                 data: Float64Array.from(readNpy(path.join(scratch, f)).data, Number) }));
}

const argmax = a => a.reduce((best, v, i) => (v > a[best] ? i : best), 0);

/// Accumulates the error of one format's outputs against the float outputs, input by input.
class ErrorStats {
  constructor() {
    Object.assign(this, { maxAbs: 0, sumAbs: 0, count: 0, cosines: [], top1: 0, inputs: 0 });
  }

  add(got, ref) {
    let dot = 0, gg = 0, rr = 0;
    for (let o = 0; o < ref.length; o++) {
      if (got[o].data.length !== ref[o].data.length) throw new Error(`output ${ref[o].name}: size differs`);
      const g = got[o].data, r = ref[o].data;
      for (let i = 0; i < r.length; i++) {
        const d = Math.abs(g[i] - r[i]);
        if (!(d <= this.maxAbs)) this.maxAbs = d;  // NaN counts as worst and stays
        this.sumAbs += d;
        dot += g[i] * r[i]; gg += g[i] * g[i]; rr += r[i] * r[i];
      }
      this.count += r.length;
    }
    this.cosines.push(gg === 0 && rr === 0 ? 1 : dot / Math.sqrt(gg * rr));
    this.top1 += argmax(got[0].data) === argmax(ref[0].data) ? 1 : 0;
    this.inputs++;
  }

  summary() {
    return { maxAbs: this.maxAbs, meanAbs: this.sumAbs / this.count,
             cosMean: this.cosines.reduce((a, b) => a + b, 0) / this.inputs,
             cosMin: this.cosines.reduce((a, b) => (b < a || Number.isNaN(b) ? b : a), Infinity),
             top1: this.top1 / this.inputs };
  }
}

/// One model: compile float and every format, run all on the same inputs, compare with float.
function measureModel(name, formats, args) {
  lib.ensureModel(name);
  const spec = MODELS[name];
  const dir = path.join(DIR, name);
  const variants = ['float', ...formats];
  const builds = {};
  for (const v of variants) {
    const exe = path.join(dir, v);
    const { seconds, report } = compileVariant(args.kiln, spec.file, exe, spec.inputs, v);
    console.log(`${name} ${v}: ${seconds === null ? 'cached' : `compiled in ${seconds.toFixed(1)} s`}` +
                (v === 'float' ? '' : `, ${report.quantized}/${report.layers.length} layers quantized`));
    builds[v] = { exe, report, gguf: fs.statSync(exe + '.gguf').size };
  }

  // All inputs first, so every build sees exactly the same ones.
  const n = Number(args.inputs), seed = Number(args.seed);
  const inputDir = path.join(dir, 'inputs');
  fs.rmSync(inputDir, { recursive: true, force: true });
  fs.mkdirSync(inputDir, { recursive: true });
  const inputs = [];
  for (let i = 0; i < n; i++) {
    const files = {};
    Object.entries(spec.inputs).forEach(([input, shape], j) => {
      files[input] = path.join(inputDir, `${i}.${input}.npy`);
      writeNpy(files[input], 'float32', shape, lib.randomTensor(shape, seed + 1000 * j + i));
    });
    inputs.push(files);
  }

  const scratch = path.join(dir, 'out');
  const ref = inputs.map(files => runOnce(builds.float.exe, files, args.threads, scratch));
  const layers = formats.length ? builds[formats[0]].report.layers.length : 0;  // quantizable ones
  const rows = [];
  for (const v of variants) {
    const stats = new ErrorStats();
    inputs.forEach((files, i) => {
      stats.add(v === 'float' ? ref[i] : runOnce(builds[v].exe, files, args.threads, scratch), ref[i]);
    });
    const b = builds[v];
    rows.push({ model: name, format: v, gguf: b.gguf, ratio: b.gguf / builds.float.gguf,
                quantized: v === 'float' ? 0 : b.report.quantized, layers,
                raised: v === 'float' ? 0 : b.report.raised,
                ...stats.summary() });
    const r = rows[rows.length - 1];
    if (v !== 'float') {
      console.log(`${name} ${v}: ${b.gguf} bytes (${r.ratio.toFixed(3)} of float), ` +
                  `max abs ${r.maxAbs.toExponential(2)}, cos mean ${r.cosMean.toFixed(5)} ` +
                  `min ${r.cosMin.toFixed(5)}, top-1 ${(100 * r.top1).toFixed(0)}%`);
    }
  }
  fs.rmSync(scratch, { recursive: true, force: true });
  fs.rmSync(inputDir, { recursive: true, force: true });

  // Context for reading the table: how large the outputs are, how varied the float top-1 is.
  const all = ref.flatMap(outs => [...outs[0].data]);
  const context = {
    model: name, inputs: n, outputs: ref[0].map(o => `${o.name} (${o.data.length} values)`).join(', '),
    meanAbsOutput: all.reduce((a, v) => a + Math.abs(v), 0) / all.length,
    distinctTop1: new Set(ref.map(outs => argmax(outs[0].data))).size,
  };
  return { rows, context };
}

const HEADER = ['model', 'format', 'weights bytes', 'vs float', 'layers quantized', 'of them q8_0',
                'max abs err', 'mean abs err', 'cosine mean', 'cosine min', 'top-1 agree'];

function cells(r) {
  if (r.error) return [r.model, r.format, 'FAILED', '', '', '', '', '', '', '', ''];
  const float = r.format === 'float';
  return [r.model, r.format, r.gguf, r.ratio.toFixed(3), float ? '0' : `${r.quantized}/${r.layers}`,
          String(r.raised || 0),
          float ? '0' : r.maxAbs.toExponential(2), float ? '0' : r.meanAbs.toExponential(2),
          r.cosMean.toFixed(6), r.cosMin.toFixed(6), `${(100 * r.top1).toFixed(1)}%`];
}

/// docs/quantization.md: formats, policy, the table, the command, and what is measured.
function writeDoc(file, rows, contexts, args) {
  const machine = lib.machine();
  const perModel = contexts.map(c => `- ${c.model}: ${MODELS[c.model].about}, output: ` +
    `${MODELS[c.model].output}; input ` +
    `${Object.values(MODELS[c.model].inputs)[0].join('x')}; ${c.inputs} inputs; output ${c.outputs}; ` +
    `mean |float output| ${c.meanAbsOutput.toExponential(2)}; the float build's top-1 takes ` +
    `${c.distinctTop1} distinct value(s) over the inputs.`);
  const md = `# Quantized weights

\`kiln compile MODEL.onnx -o OUT --quantize FORMAT\` stores the weights of matrix multiplications
(MatMul/Gemm with a constant rank-2 weight), convolutions (constant weight) and embedding
tables (a constant rank-2 table that Gather reads rows of, one row per entry) in a compact
format. The executable keeps them packed in \`OUT.gguf\` (GGML-typed GGUF tensors, so ggml's
tools can read them) and decodes each value inside the kernel that reads it; no float copy of
the weights is made at load or run time. \`--report\` prints, per quantizable layer, whether it
was quantized and its stored bytes.

## Formats

Each weight is laid out as rows along its reduction axis (a MatMul's \`[K, N]\` weight as N rows of
K values, a Conv's \`[F, C, kh, kw]\` as F rows of C*kh*kw), rows padded with zeros to a multiple of
32 for the block formats. The GGML formats are bit-exact with ggml's reference quantizers
(\`compiler/quantize\`, tested against ggml-derived vectors).

| format | layout | bytes per 32 values | bits per value | value |
|---|---|---:|---:|---|
| q8_0 | block of 32: fp16 scale d, 32 x int8 q | 34 | 8.5 | d * q |
| q4_0 | block of 32: fp16 d, 16 bytes of 4-bit q | 18 | 4.5 | d * (q - 8) |
| q4_1 | block of 32: fp16 d, fp16 min m, 16 bytes of 4-bit q | 20 | 5.0 | d * q + m |
| q5_0 | block of 32: fp16 d, 32 high bits, 16 bytes of low nibbles | 22 | 5.5 | d * (q - 16) |
| q5_1 | block of 32: fp16 d, fp16 m, 32 high bits, 16 bytes of low nibbles | 24 | 6.0 | d * q + m |
| int8 | per row (output channel): float32 scale s, int8 q per value, no padding | 32 (+4 a row) | 8 | s * q |

float32 is 128 bytes per 32 values, so the block formats are 3.8x (q8_0) to 7.1x (q4_0) smaller
per quantized weight.

## Kernels

- **Matmuls and convolutions on weights in the GGML formats, x86 (AVX2 or later; every
  benchmark machine here) and aarch64-dotprod**: the weight of a MatMul/Gemm with a multiple
  of 16 columns, or of a convolution with one group and a multiple of 16 output channels (at
  least 64 for a 1x1 stride-1 window, 128 for others), is stored in kiln's interleaved twin
  of the format
  (\`q8_0x16\`, \`q4_0x16\`, ... \`q5_1x16\`, docs/formats.md: same bytes, 16 output columns
  interleaved in 4-byte chunks; \`--ggml-layout\` keeps GGML's own types and the float path
  instead). A convolution is a matmul whose rows are its output
  pixels, each row the pixel's zero-bordered window (channel, kernel row, kernel column). The
  kernel quantizes each 32-value block of an activation row to int8 on the fly (scale
  \`dx = amax/127\` in float32, round half to even, as ggml's Q8_0 does but with a float32
  scale), multiplies the block's quants with the weight's in int32 and converts each block's
  sum once:
  \`y[m,n] = sum_b dw[n,b] * dx[m,b] * (sum_j u[n,b,j] * qx[m,b,j] - o * sum_j qx[m,b,j])\`,
  where \`u\` is the stored unsigned quant (q8_0: q + 128, o = 128; q4_0: the nibble, o = 8;
  q5_0: the nibble with its high bit, o = 16; q4_1/q5_1: o = 0, plus \`m[n,b] * dx[m,b] * sum_j qx[m,b,j]\` for its minimum).
  With AVX512-VNNI each 64-byte weight load feeds one \`VPDPBUSD\` per activation row (16
  columns x 4 quants, the activations a broadcast operand); without it Halide lowers the
  same sums to \`VPMADDWD\` pairs. On aarch64-dotprod the weights are made signed as they
  load (\`u ^ 0x80\`, nibble - 8) and the sums are \`SDOT\`s (checked under qemu; not timed on
  ARM hardware here). The activation quantization adds error of its own (about
  1/254 of each block's largest activation, relative); the matrix-vector table in
  docs/benchmarks.md shows the resulting output error next to the float-activation one.
- **Everything else** (convolutions with fewer output channels than that, where quantizing
  each pixel's window would cost more than the integer products save; depthwise and grouped
  convolutions;
  int8 weights; the plain aarch64 target; matmuls whose column count is not a
  multiple of 16): the kernel decodes each weight value to float
  where it reads it (a tile's slice at a time for a convolution) and multiplies in float32.
  No float copy of a whole weight is made at load or run time, but this path is slower than
  float weights for convolutions and reaches 15-25% of read bandwidth for a matrix-vector
  product.

## Policy: what stays float

- The first and the last matmul or conv in program order (usually the stem conv, which sees
  raw pixels, and the classifier, whose errors go straight to the output). Embedding tables
  do not count as ends: a lookup's error is not multiplied by the rest of the network.
- Every layer whose rows are shorter than one 32-value block: depthwise convs (a 3x3 filter is
  9 values, a 5x5 one 25) and 1x1 convs or matmuls with fewer than 32 input channels. Padding such
  a row to a block would cost more bytes than it saves and lose most of its precision.
- \`--keep-float LIST\` keeps more in float (node-name substrings, or \`matmul\` / \`conv\` / \`gather\`);
  \`--quantize-all-layers\` quantizes the first and the last layer too (not used here).

Under the 4- and 5-bit formats (q4_0, q4_1, q5_0, q5_1) two kinds of layer are stored in q8_0
(the "of them q8_0" column; \`--report\` names each with its reason), the way llama.cpp's
"mostly Q4" files keep some tensors at higher precision:
- residual writers: a layer whose output is an operand of an add of two computed tensors
  (a ResNet/MobileNetV2 block's last conv, a transformer's output and down projections). Its
  error enters the residual stream, where no activation damps it, and every later block
  reads it;
- small layers, under 8192 weights: they save little, and they sit early in a network, where
  an error reaches everything after.
On MobileNetV2 (random weights, 6 inputs) q4_0's output cosine is 0.967 with every layer in
q4_0, 0.978 with residual writers in q8_0, and 0.992 with both rules, for 5% more bytes
(7.02 MB against 6.68 MB; q8_0 everywhere: 7.74 MB). \`--quantize-uniform\` turns the rules off.

Biases, BatchNorm parameters and every other constant stay float32. So the weights file shrinks
by less than the per-weight ratio above; the "vs float" column is the ratio of whole files.
Speed is measured separately: the "Quantized matrix-vector" section of docs/benchmarks.md
(\`node bench/quant_matvec.js\`) times quantized matrix-vector products and whole models.

## Results

- Machine: ${machine.text}
- Date: ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}; kiln ${lib.gitCommit()}
- Command: \`${lib.commandLine()}\`

${lib.markdownTable(HEADER, rows.map(cells))}

${perModel.join('\n')}

## What is measured

- weights bytes: size of \`OUT.gguf\` (all weights, quantized or not, plus GGUF metadata);
  vs float: that size over the float build's. layers quantized: quantized / quantizable
  layers, from \`--report\`; of them q8_0: those the policy above stores in q8_0 instead.
- The reference is kiln's own float build on the same input, so the errors are those of
  quantization alone (kiln's float build itself is checked against onnxruntime by
  bench/run.js: max abs diff column of docs/benchmarks.md). Each of the N inputs is uniform
  in [-1, 1) from a fixed seed (seed ${args.seed} + input index); the inputs are generated once and
  every build runs once per input, on ${args.threads} thread(s).
- max abs err: largest |quantized - float| over every output value of every input; mean abs err:
  mean of |quantized - float| over the same values. Compare with the mean |float output| above.
- cosine: cosine similarity of the quantized and float output vectors, per input; the mean and
  the minimum over the inputs.
- top-1 agree: fraction of inputs where the argmax of the (first) output is the same.
- Caveats: cls's output is a softmax over two classes, so its cosine is close to 1 even for
  visible errors and its absolute errors are in probability; rec's top-1 is the argmax over
  its whole output (all steps), so it says little; MobileNetV2 and ResNet-50 have random
  (calibrated) weights, and random inputs are not images, so their top-1 is a measure of
  agreement between the builds, not of accuracy on a task. None says how a trained model's
  task accuracy changes. det is not in the table: on random inputs its probability map is
  about 0 everywhere (mean 2.6e-7), so a cosine over it measures rounding noise
  (\`--models det\` runs it anyway).
`;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, md);
}


function main() {
  const args = lib.parseArgs(process.argv.slice(2), {
    models: Object.keys(MODELS).filter(m => MODELS[m].accuracy !== false).join(','),
    formats: FORMATS.join(','), inputs: '100', seed: '5000',
    threads: '1', kiln: path.join(lib.REPO, 'build/compiler/kiln'),
    out: path.join(lib.REPO, 'docs/quantization.md'),
  }, USAGE);
  args.kiln = path.resolve(args.kiln);  // paths given on the command line: relative to the cwd
  const models = lib.list(args.models), formats = lib.list(args.formats);
  const bad = [...models.filter(m => !MODELS[m]), ...formats.filter(f => !FORMATS.includes(f))];
  if (bad.length || !(Number(args.inputs) > 0) || !(Number(args.threads) > 0)) {
    console.error(`unknown model(s) or format(s) ${bad.join(',')}, or bad --inputs/--threads\n${USAGE}`);
    process.exit(2);
  }
  if (!fs.existsSync(args.kiln)) {
    console.error(`kiln not found at ${args.kiln} (build it, or pass --kiln)`);
    process.exit(2);
  }
  const rows = [], contexts = [], errors = [];
  for (const name of models) {
    try {
      const { rows: r, context } = measureModel(name, formats, args);
      rows.push(...r);
      contexts.push(context);
    } catch (e) {
      console.error(`${name}: ${e.message}`);
      errors.push(`${name}: ${e.message.split('\n')[0]}`);
      rows.push({ model: name, format: '', error: e.message });
    }
  }
  console.log('\n' + lib.textTable(HEADER, rows.map(cells)));
  const out = path.resolve(args.out);
  writeDoc(out, rows, contexts, args);
  if (errors.length) fs.appendFileSync(out, '\nFailures:\n\n' + errors.map(e => `- ${e}`).join('\n') + '\n');
  console.log(`\nwrote ${path.relative(process.cwd(), out)}`);
  process.exit(errors.length ? 1 : 0);
}

if (require.main === module) main();

module.exports = { FORMATS, DIR, compileVariant, parseReport };
