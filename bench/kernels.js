// kernels.js - kernel microbenchmarks: single-op models through kiln, as a fraction of this machine's peak.
//
// usage: node bench/kernels.js [--threads 1,2] [--runs 10] [--kernels NAME,...]
//                              [--kiln build/compiler/kiln] [--out docs/benchmarks.md]
//
// A whole-model ratio against onnxruntime says whether kiln is competitive; this says how far
// each kernel is from what the hardware can do. bench/make_kernel_models.py writes one-op ONNX
// models (GEMMs square and skinny, a batched MatMul, Conv 3x3 / 1x1 / depthwise, a 16M-element
// Add) and a manifest with each one's FLOPs and minimum bytes moved. Each is compiled with kiln
// (cached under bench/work/kernels/), timed with the executable's --bench, and reported as
// GFLOP/s and fraction of the FMA peak, and GB/s and fraction of the streaming read bandwidth,
// both peaks measured in the same run by bench/fma_peak.c (before and after; the higher is
// used) and bench/membw.c. The "bound" column says which of the two fractions is the one that
// matters for the kernel. onnxruntime's median on the same model is shown for context.
// Results: a table on stdout and the "kernels" section of --out (other sections are kept).
'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const lib = require('./lib');
const { writeNpy } = require('../scripts/lib/npy');

const USAGE = 'usage: node bench/kernels.js [--threads 1,2] [--runs 10] [--kernels NAME,...] ' +
  '[--kiln build/compiler/kiln] [--out docs/benchmarks.md]';
const DIR = path.join(lib.WORK, 'kernels');
const GENERATOR = path.join(__dirname, 'make_kernel_models.py');

/// The manifest written by make_kernel_models.py, regenerating the models when the generator
/// is newer than them.
function manifest() {
  const file = path.join(DIR, 'manifest.json');
  if (!fs.existsSync(file) || fs.statSync(file).mtimeMs < fs.statSync(GENERATOR).mtimeMs) {
    execFileSync('/usr/bin/python3', [GENERATOR, DIR], { stdio: 'inherit' });
  }
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

const HEADER = ['kernel', 'threads', 'bound', 'kiln median ms', 'kiln min ms', 'GFLOP/s', '% FMA peak',
                'GB/s', '% read BW', 'ort median ms', 'kiln/ort', 'max abs diff'];

async function main() {
  const args = lib.parseArgs(process.argv.slice(2), {
    threads: '1,2', runs: '10', kernels: '',
    kiln: path.join(lib.REPO, 'build/compiler/kiln'), out: path.join(lib.REPO, 'docs/benchmarks.md'),
  }, USAGE);  // paths given on the command line: relative to the cwd
  args.kiln = path.resolve(args.kiln);
  const threadCounts = lib.list(args.threads).map(Number);
  const runs = Number(args.runs);
  if (threadCounts.some(t => !(t > 0)) || !(runs > 0)) {
    console.error(USAGE);
    process.exit(2);
  }
  let kernels = manifest();
  if (args.kernels) {
    const wanted = lib.list(args.kernels);
    const unknown = wanted.filter(w => !kernels.some(k => k.name === w));
    if (unknown.length) {
      console.error(`unknown kernel(s) ${unknown.join(',')}; known: ${kernels.map(k => k.name).join(',')}`);
      process.exit(2);
    }
    kernels = kernels.filter(k => wanted.includes(k.name));
  }
  const machine = lib.machine();
  console.log(`machine: ${machine.text}`);
  const fmaBefore = lib.fmaPeak(threadCounts);
  const bandwidth = lib.memBandwidth(threadCounts);

  const results = [];
  const errors = [];
  for (const k of kernels) {
    const exe = path.join(DIR, k.name);
    const inputFiles = {};
    try {
      const compileS = lib.kilnCompile(args.kiln, path.join(DIR, k.file), exe, k.inputs);
      if (compileS !== null) console.log(`${k.name}: compiled in ${compileS.toFixed(1)} s`);
      Object.entries(k.inputs).forEach(([name, shape], i) => {
        inputFiles[name] = path.join(DIR, `${k.name}.${name}.npy`);
        writeNpy(inputFiles[name], 'float32', shape, lib.randomTensor(shape, 99 + i));
      });
      for (const threads of threadCounts) {
        // kiln writes its outputs after the timed runs; onnxruntime's are the reference.
        const kilnOut = path.join(DIR, 'out-kiln'), ortOut = path.join(DIR, 'out-ort');
        fs.rmSync(kilnOut, { recursive: true, force: true });
        const kiln = lib.kilnBench(exe, inputFiles, runs, threads, ['--output-dir', kilnOut]);
        const ort = new lib.OrtWorker(path.join(DIR, k.file), inputFiles, threads, 2);
        let onnx, diff;
        try {
          await ort.ready;
          onnx = await ort.bench(runs);
          diff = lib.maxAbsDiff(kilnOut, (await ort.request({ cmd: 'outputs', dir: ortOut })).files);
          await ort.close();
        } catch (e) {
          ort.kill();
          throw e;
        }
        fs.rmSync(kilnOut, { recursive: true, force: true });
        fs.rmSync(ortOut, { recursive: true, force: true });
        results.push({ k, threads, kiln, ort: onnx, diff });
        console.log(`${k.name} threads ${threads}: kiln ${kiln.median.toFixed(3)} ms, ` +
                    `${(k.flops / kiln.median / 1e6).toFixed(1)} GFLOP/s, ` +
                    `${(k.bytes / kiln.median / 1e6).toFixed(1)} GB/s; ort ${onnx.median.toFixed(3)} ms; ` +
                    `max |kiln-ort| ${diff.toExponential(2)}`);
      }
    } catch (e) {
      console.error(`${k.name}: ${e.message}`);
      errors.push(`${k.name}: ${e.message.split('\n')[0]}`);
    } finally {
      for (const file of Object.values(inputFiles)) fs.rmSync(file, { force: true });  // up to 64 MiB each
    }
  }
  const fmaAfter = lib.fmaPeak(threadCounts);
  const peak = t => Math.max(fmaBefore.gflops[t], fmaAfter.gflops[t]);

  const pct = x => `${(100 * x).toFixed(0)}%`;
  const rows = results.map(({ k, threads, kiln, ort, diff }) => {
    const gflops = k.flops / kiln.median / 1e6, gbs = k.bytes / kiln.median / 1e6;
    return [k.name, threads, k.bound, kiln.median.toFixed(3), kiln.min.toFixed(3), gflops.toFixed(1),
            pct(gflops / peak(threads)), gbs.toFixed(1), pct(gbs / bandwidth[threads]),
            ort.median.toFixed(3), (kiln.median / ort.median).toFixed(2), diff.toExponential(1)];
  });
  const peaks = threadCounts.map(t => `${t} thread${t === 1 ? '' : 's'}: ${fmaBefore.gflops[t]} before, ` +
                                      `${fmaAfter.gflops[t]} after`).join('; ');
  const bw = threadCounts.map(t => `${t} thread${t === 1 ? '' : 's'}: ${bandwidth[t]}`).join('; ');
  console.log('\n' + lib.textTable(HEADER, rows));
  console.log(`\nFMA peak (${fmaBefore.isa}, GFLOP/s) ${peaks}`);
  console.log(`read bandwidth (GB/s) ${bw}`);

  const md = [
    '## Kernels: fraction of the machine\'s peak',
    '',
    `- Machine: ${machine.text}`,
    `- Date: ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`,
    `- Command: \`${lib.commandLine()}\``,
    `- Method: one-op models from bench/make_kernel_models.py, compiled by kiln for the host and ` +
    `timed with \`--bench ${runs}\` (one warm-up run); onnxruntime-node on the same model and input ` +
    `for context. GFLOP/s = FLOPs / kiln median; GB/s = minimum bytes moved (inputs, weights, ` +
    `output, each once) / kiln median. % FMA peak is against the higher of the two FMA probe ` +
    `results below, % read BW against the streaming read bandwidth (an Add also writes, so ` +
    `100% is not quite reachable). "bound" names the fraction that matters. max abs diff: ` +
    `largest |kiln - ort| over the output. onnxruntime-node's times include copying the ` +
    `output into a JavaScript tensor, which dominates for the 64 MiB Add.`,
    '',
    lib.markdownTable(HEADER, rows),
    '',
    `FMA peak (${fmaBefore.isa}, bench/fma_peak.c, GFLOP/s): ${peaks}. ` +
    `Read bandwidth (bench/membw.c, 512 MiB, GB/s): ${bw}.`,
    '',
    'Kernels: ' + kernels.map(k => `${k.name} = ${k.about}`).join('; ') + '.',
  ];
  if (errors.length) md.push('', 'Failures:', '', ...errors.map(e => `- ${e}`));
  const out = path.resolve(args.out);
  lib.writeSection(out, lib.INTRO, 'kernels', md.join('\n'));
  console.log(`\nwrote ${path.relative(process.cwd(), out)}`);
  process.exit(errors.length ? 1 : 0);
}

main().catch(e => { console.error(e.stack || e.message); process.exit(1); });
