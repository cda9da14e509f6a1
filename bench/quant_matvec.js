// quant_matvec.js - quantized matrix-vector products: weight streaming speed against memory bandwidth.
//
// usage: node bench/quant_matvec.js [--threads 1,2] [--formats q8_0,q4_0,q4_1,q5_0,q5_1,int8]
//                                   [--runs 60] [--rounds 3] [--model-runs 60]
//                                   [--kiln build/compiler/kiln] [--out docs/benchmarks.md]
//
// A batch-1 matrix-vector product reads every weight once and does two FLOPs with it, so its
// speed is the speed at which the weights arrive; quantized weights are fewer bytes, and the
// question is whether kiln's kernels, which decode each weight where they read it, turn that into
// time. bench/make_matvec_models.py writes x[1,K] @ W[K,N] models for (K,N) = (4096,4096) and
// (4096,11008) and (4096,14336), each as a chain of three MatMuls whose small first and last layers stay float
// so the big middle one is quantized (checked here in kiln's --report). Each model is compiled
// in float and in every format (cached under bench/work/quant_matvec/), its output checked once
// against the exact float64 result, and timed with the executable's --bench in --rounds rounds
// (all builds take turns within a round, so drift hits them alike; median of the round medians).
// Reported: bytes of weights read per run (all three matmuls, as stored), GB/s = bytes / median,
// and that as a fraction of the streaming read bandwidth measured in the same run by
// bench/membw.c (built as bench/run.js builds it). A second, small table times float, q8_0 and
// q4_0 builds of the five benchmark models at 1 thread (builds shared with bench/quantization.js).
// Results: tables on stdout and the "quantized-matvec" section of --out (other sections kept).
'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const lib = require('./lib');
const quant = require('./quantization');
const { writeNpy, readNpy } = require('../scripts/lib/npy');

const USAGE = 'usage: node bench/quant_matvec.js [--threads 1,2] [--formats q8_0,q4_0,q4_1,q5_0,q5_1,int8] ' +
  '[--runs 60] [--rounds 3] [--model-runs 60] [--kiln build/compiler/kiln] [--out docs/benchmarks.md]';
const DIR = path.join(lib.WORK, 'quant_matvec');
const GENERATOR = path.join(__dirname, 'make_matvec_models.py');
const MODEL_FORMATS = ['float', 'q8_0', 'q4_0'];  // the whole-model latency table

/// The manifest written by make_matvec_models.py, regenerating the models when the generator
/// is newer than them.
function manifest() {
  const file = path.join(DIR, 'manifest.json');
  if (!fs.existsSync(file) || fs.statSync(file).mtimeMs < fs.statSync(GENERATOR).mtimeMs) {
    execFileSync('/usr/bin/python3', [GENERATOR, DIR], { stdio: 'inherit' });
  }
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/// Times `builds` ([{exe, inputFiles}]) at `threads`: `rounds` rounds, each build `perRound`
/// runs per round, the order reversed every other round. Returns {median, min} per build.
function timeInRounds(builds, threads, rounds, perRound) {
  const results = builds.map(() => []);
  for (let r = 0; r < rounds; r++) {
    const order = builds.map((_, i) => i);
    if (r % 2) order.reverse();
    for (const i of order) results[i].push(lib.kilnBench(builds[i].exe, builds[i].inputFiles, perRound, threads));
  }
  return results.map(rs => ({ median: lib.median(rs.map(x => x.median)), min: Math.min(...rs.map(x => x.min)) }));
}

/// Compiles one matvec model in float and every format; checks the --report says the big
/// matmul (node "big") is quantized and the others are not, and the output against the exact one.
function buildMatvec(m, formats, kiln) {
  const model = path.join(DIR, m.file);
  const inputFiles = { x: path.join(DIR, m.x) };
  const ref = readNpy(path.join(DIR, m.ref)).data;
  const builds = [];
  for (const format of ['float', ...formats]) {
    const exe = path.join(DIR, m.name, format);
    const { seconds, report } = quant.compileVariant(kiln, model, exe, m.input, format);
    let bytes = m.big_float_bytes + m.edge_float_bytes;
    if (format !== 'float') {
      const big = report.layers.find(l => l.name.includes("'big'"));
      const edges = report.layers.filter(l => l !== big);
      if (!big || big.format !== format || edges.length !== 2 || edges.some(l => l.format !== 'float')) {
        throw new Error(`${m.name} ${format}: --report does not show the big MatMul alone quantized:\n` +
                        fs.readFileSync(exe + '.report', 'utf8'));
      }
      bytes = report.storedBytes;
    }
    // Output check: relative to the largest exact output value.
    const out = path.join(DIR, m.name, `out-${format}`);
    fs.rmSync(out, { recursive: true, force: true });
    lib.kilnBench(exe, inputFiles, 1, 1, ['--output-dir', out]);
    const got = readNpy(path.join(out, 'y.npy')).data;
    fs.rmSync(out, { recursive: true, force: true });
    let err = 0, scale = 0;
    for (let i = 0; i < ref.length; i++) {
      const d = Math.abs(got[i] - ref[i]);
      if (!(d <= err)) err = d;
      scale = Math.max(scale, Math.abs(ref[i]));
    }
    console.log(`${m.name} ${format}: ${seconds === null ? 'cached' : `compiled in ${seconds.toFixed(1)} s`}, ` +
                `${bytes} weight bytes, max |y - exact| / max |exact| ${(err / scale).toExponential(2)}`);
    builds.push({ model: m, format, exe, inputFiles, bytes, relErr: err / scale });
  }
  return builds;
}

const MATVEC_HEADER = ['model', 'format', 'threads', 'weights MiB', 'median ms', 'min ms', 'GB/s',
                       '% read BW', '% same-size BW', 'speedup vs float', 'rel err vs exact'];
const MODEL_HEADER = ['model', 'format', 'threads', 'median ms', 'min ms', 'vs float'];

async function main() {
  const args = lib.parseArgs(process.argv.slice(2), {
    threads: '1,2', formats: quant.FORMATS.join(','), runs: '60', rounds: '3', 'model-runs': '60',
    kiln: path.join(lib.REPO, 'build/compiler/kiln'), out: path.join(lib.REPO, 'docs/benchmarks.md'),
  }, USAGE);
  args.kiln = path.resolve(args.kiln);  // paths given on the command line: relative to the cwd
  const threadCounts = lib.list(args.threads).map(Number);
  const formats = lib.list(args.formats);
  const rounds = Math.max(1, Number(args.rounds));
  const perRound = Math.max(1, Math.ceil(Number(args.runs) / rounds));
  const modelPerRound = Math.max(1, Math.ceil(Number(args['model-runs']) / rounds));
  if (threadCounts.some(t => !(t > 0)) || formats.some(f => !quant.FORMATS.includes(f))) {
    console.error(USAGE);
    process.exit(2);
  }
  if (!fs.existsSync(args.kiln)) {
    console.error(`kiln not found at ${args.kiln} (build it, or pass --kiln)`);
    process.exit(2);
  }
  const machine = lib.machine();
  console.log(`machine: ${machine.text}`);
  const errors = [];

  // 1. Matrix-vector models: build and check everything first, then time.
  const matvecs = [];
  for (const m of manifest()) {
    try {
      matvecs.push(buildMatvec(m, formats, args.kiln));
    } catch (e) {
      console.error(`${m.name}: ${e.message}`);
      errors.push(`${m.name}: ${e.message.split('\n')[0]}`);
    }
  }
  const bandwidth = lib.memBandwidth(threadCounts);
  console.log('read bandwidth: ' + threadCounts.map(t => `${t}T ${bandwidth[t]} GB/s`).join(', '));
  const matvecRows = [];
  // The same read probe over a buffer as big as each build's weights: what reading that many
  // bytes again and again gets from memory plus whatever part of them the L3 cache keeps.
  const sameSize = {};
  const sameSizeBandwidth = (bytes) => {
    const mib = Math.max(1, Math.round(bytes / 2 ** 20));
    if (!sameSize[mib]) sameSize[mib] = lib.memBandwidth(threadCounts, mib);
    return sameSize[mib];
  };
  for (const builds of matvecs) {
    for (const threads of threadCounts) {
      const times = timeInRounds(builds, threads, rounds, perRound);
      builds.forEach((b, i) => {
        const t = times[i], gbs = b.bytes / t.median / 1e6;
        const same = sameSizeBandwidth(b.bytes)[threads];
        matvecRows.push([b.model.name, b.format, threads, (b.bytes / 2 ** 20).toFixed(1), t.median.toFixed(3),
                         t.min.toFixed(3), gbs.toFixed(1), `${(100 * gbs / bandwidth[threads]).toFixed(0)}%`,
                         `${(100 * gbs / same).toFixed(0)}%`,
                         (times[0].median / t.median).toFixed(2), b.relErr.toExponential(1)]);
        console.log(`${b.model.name} ${b.format} threads ${threads}: ${t.median.toFixed(3)} ms, ` +
                    `${gbs.toFixed(1)} GB/s`);
      });
    }
  }

  // 2. Whole models at 1 thread: float, q8_0, q4_0.
  const modelRows = [];
  for (const name of Object.keys(lib.MODELS)) {
    try {
      lib.ensureModel(name);
      const spec = lib.MODELS[name];
      const inputFiles = {};
      Object.entries(spec.inputs).forEach(([input, shape], i) => {
        inputFiles[input] = path.join(quant.DIR, name, `bench.${input}.npy`);
        fs.mkdirSync(path.dirname(inputFiles[input]), { recursive: true });
        writeNpy(inputFiles[input], 'float32', shape, lib.randomTensor(shape, 1234 + i));
      });
      const builds = MODEL_FORMATS.map(format => {
        const exe = path.join(quant.DIR, name, format);
        const { seconds } = quant.compileVariant(args.kiln, spec.file, exe, spec.inputs, format);
        if (seconds !== null) console.log(`${name} ${format}: compiled in ${seconds.toFixed(1)} s`);
        return { exe, inputFiles, format };
      });
      const times = timeInRounds(builds, 1, rounds, modelPerRound);
      builds.forEach((b, i) => {
        modelRows.push([name, b.format, 1, times[i].median.toFixed(3), times[i].min.toFixed(3),
                        (times[i].median / times[0].median).toFixed(2)]);
        console.log(`${name} ${b.format} threads 1: ${times[i].median.toFixed(3)} ms`);
      });
    } catch (e) {
      console.error(`${name}: ${e.message}`);
      errors.push(`${name}: ${e.message.split('\n')[0]}`);
    }
  }

  console.log('\n' + lib.textTable(MATVEC_HEADER, matvecRows));
  console.log('\n' + lib.textTable(MODEL_HEADER, modelRows));
  const bw = threadCounts.map(t => `${t} thread${t === 1 ? '' : 's'}: ${bandwidth[t]}`).join('; ');
  console.log(`\nread bandwidth (GB/s) ${bw}`);

  const l3 = (() => {
    try {
      return execFileSync('lscpu', { encoding: 'utf8' }).match(/^L3 cache:\s*(.*)$/m)[1].trim();
    } catch (e) {
      return 'unknown';
    }
  })();
  const md = [
    '## Quantized matrix-vector',
    '',
    `- Machine: ${machine.text}; L3 cache ${l3}`,
    `- Date: ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}; kiln ${lib.gitCommit()}`,
    `- Command: \`${lib.commandLine()}\` (regenerates only this section)`,
    `- Method: y[1,N] = x[1,K] @ W[K,N] with W a constant, built by bench/make_matvec_models.py as ` +
    `a chain x[1,32] @ A[32,K] @ W[K,N] @ B[N,32] whose small first and last matmuls stay float ` +
    `(kiln's policy), so W alone is quantized (checked in \`--report\`). Every build is compiled ` +
    `for the host with \`--quantize FORMAT\` (float: none) and timed with \`--bench ${perRound}\` in ` +
    `${rounds} rounds in which all builds of a model take turns; median = median of the round ` +
    `medians. weights MiB = bytes of all three weights as stored (the \`--report\` total; float: ` +
    `4 bytes a value), i.e. what one run must read; GB/s = those bytes / median; % read BW = that ` +
    `over the streaming read bandwidth of bench/membw.c (512 MiB buffer) measured in the same run. ` +
    `rel err vs exact = max |y - y_exact| / max |y_exact| with y_exact the float64 product of the ` +
    `same (unquantized) weights, for one fixed input. Caveat: weights up to a few times the L3 size ` +
    `stay partly in the L3 cache between runs (AMD's L3 is a victim cache), so their GB/s can exceed ` +
    `what memory alone delivers; % same-size BW compares with the same probe reading a buffer as ` +
    `big as the build's weights over and over, which gets the same help from the cache.`,
    '',
    lib.markdownTable(MATVEC_HEADER, matvecRows),
    '',
    `Read bandwidth (bench/membw.c, 512 MiB, GB/s): ${bw}.`,
    '',
    `Whole models, 1 thread (builds and fixed input as in docs/quantization.md and bench/run.js; ` +
    `\`--bench ${modelPerRound}\` in ${rounds} rounds, builds taking turns; vs float = median / float median):`,
    '',
    lib.markdownTable(MODEL_HEADER, modelRows),
  ];
  if (errors.length) md.push('', 'Failures:', '', ...errors.map(e => `- ${e}`));
  const out = path.resolve(args.out);
  lib.writeSection(out, lib.INTRO, 'quantized-matvec', md.join('\n'));
  console.log(`\nwrote ${path.relative(process.cwd(), out)}`);
  process.exit(errors.length ? 1 : 0);
}

main().catch(e => { console.error(e.stack || e.message); process.exit(1); });
