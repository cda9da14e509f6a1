// tune.js - what `kiln tune` gains: untuned vs tuned kiln vs onnxruntime, same machine, same run.
//
// usage: node bench/tune.js [--models NAME,...] [--budget 900] [--threads 2] [--search local]
//                           [--runs 30] [--rounds 3] [--warmup 3] [--settle-ms 100]
//                           [--kiln build/compiler/kiln] [--out docs/benchmarks.md]
//
// For each model: `kiln tune` with the budget at the thread count into
// bench/work/tune/NAME.db (a rerun of this script resumes it: the budget is per database),
// then the model compiled without and with `--tuning` that database, and the two
// executables and onnxruntime-node timed alternately in rounds at the same thread count (the
// order rotating every round), as bench/run.js does. Results: a table on stdout and the
// "tuning" section of --out.
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const lib = require('./lib');

const USAGE = 'usage: node bench/tune.js [--models NAME,...] [--budget 900] [--threads 2] ' +
  '[--search local] [--runs 30] [--rounds 3] [--warmup 3] [--settle-ms 100] ' +
  '[--kiln build/compiler/kiln] [--out docs/benchmarks.md]';

async function benchModel(name, args) {
  lib.ensureModel(name);
  const spec = lib.modelSpec(name);
  const threads = Number(args.threads);
  const dir = path.join(lib.WORK, 'tune', name);
  fs.mkdirSync(dir, { recursive: true });
  const db = path.join(dir, `${name}.db`);
  const shapes = [];
  for (const [input, shape] of Object.entries(spec.inputs)) shapes.push('--input-shape', `${input}=${shape.join(',')}`);
  const tuneArgs = ['tune', path.resolve(spec.file), ...shapes, '--db', db, '--budget', args.budget,
                    '--threads', String(threads), '--search', args.search];
  console.log(`${name}: kiln ${tuneArgs.join(' ')}`);
  const start = Date.now();
  const tuned = spawnSync(args.kiln, tuneArgs, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (tuned.status !== 0) throw new Error(`kiln tune failed (exit ${tuned.status})`);
  const tuneMinutes = (Date.now() - start) / 60000;
  const estimate = (/tuned kernels' part of the run: ([+-][\d.]+%)/.exec(tuned.stdout) || [0, '?'])[1];

  const untunedExe = path.join(dir, 'untuned', name), tunedExe = path.join(dir, 'tuned', name);
  lib.kilnCompile(args.kiln, spec.file, untunedExe, spec.inputs);
  const compiled = spawnSync(args.kiln, ['compile', path.resolve(spec.file), ...shapes, '-o', tunedExe,
                                         '--tuning', db], { encoding: 'utf8' });
  if (compiled.status !== 0) throw new Error(`kiln compile --tuning failed: ${compiled.stderr}`);
  const used = (/tuning: (\d+ of \d+) kernel calls/.exec(compiled.stderr) || [0, '?'])[1];
  const inputFiles = lib.writeInputs(spec, dir);

  const ort = new lib.OrtWorker(spec.file, inputFiles, threads, Number(args.warmup));
  await ort.ready;
  const rounds = Math.max(1, Number(args.rounds));
  const perRound = Math.max(1, Math.ceil(Number(args.runs) / rounds));
  const settle = () => new Promise(resolve => setTimeout(resolve, Number(args['settle-ms'])));
  const times = { untuned: [], tuned: [], ort: [] };
  const sides = {
    untuned: async () => { await settle(); times.untuned.push(lib.kilnBench(untunedExe, inputFiles, perRound, threads).median); },
    tuned: async () => { await settle(); times.tuned.push(lib.kilnBench(tunedExe, inputFiles, perRound, threads).median); },
    ort: async () => { await settle(); times.ort.push((await ort.bench(perRound)).median); },
  };
  const order = ['untuned', 'tuned', 'ort'];
  for (let r = 0; r < rounds; r++)
    for (let k = 0; k < 3; k++) await sides[order[(r + k) % 3]]();
  await ort.close();
  const row = {
    model: name, threads, budget: Number(args.budget), tuneMinutes, used, estimate,
    untuned: lib.median(times.untuned), tuned: lib.median(times.tuned), ort: lib.median(times.ort),
  };
  console.log(`${name}: untuned ${row.untuned.toFixed(3)} ms, tuned ${row.tuned.toFixed(3)} ms, ` +
              `ort ${row.ort.toFixed(3)} ms (${used} kernel calls tuned)`);
  return row;
}

const HEADER = ['model', 'threads', 'budget s', 'tune min', 'kernel calls tuned', 'kernel estimate',
                'untuned ms', 'tuned ms', 'ort ms', 'tuned/untuned', 'untuned/ort', 'tuned/ort'];

function cells(r) {
  if (r.error) return [r.model, '', '', '', 'FAILED', '', '', '', '', '', '', ''];
  return [r.model, r.threads, r.budget, r.tuneMinutes.toFixed(1), r.used, r.estimate,
          r.untuned.toFixed(3), r.tuned.toFixed(3), r.ort.toFixed(3), (r.tuned / r.untuned).toFixed(2),
          (r.untuned / r.ort).toFixed(2), (r.tuned / r.ort).toFixed(2)];
}

async function main() {
  const args = lib.parseArgs(process.argv.slice(2), {
    models: 'squeezenet', budget: '900', threads: '2', search: 'local', runs: '30', rounds: '3',
    warmup: '3', 'settle-ms': '100',
    kiln: path.join(lib.REPO, 'build/compiler/kiln'), out: path.join(lib.REPO, 'docs/benchmarks.md'),
  }, USAGE);
  args.kiln = path.resolve(args.kiln);
  const models = lib.expandModels(lib.list(args.models));
  if (models.some(m => !lib.modelSpec(m))) {
    console.error(`unknown model in ${args.models}\n${USAGE}`);
    process.exit(2);
  }
  const machine = lib.machine();
  const date = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const rows = [];
  for (const name of models) {
    try {
      rows.push(await benchModel(name, args));
    } catch (e) {
      console.error(`${name}: ${e.message}`);
      rows.push({ model: name, error: e.message });
    }
  }
  console.log('\n' + lib.textTable(HEADER, rows.map(cells)));
  const md = [
    '## Tuning: kiln tune on this machine',
    '',
    `- Machine: ${machine.text}`,
    `- Date: ${date}; kiln ${lib.gitCommit()}`,
    `- Command: \`${lib.commandLine()}\``,
    `- Method: \`kiln tune\` (${args.search} search, the budget per model, candidates timed at ` +
    `${args.threads} threads), then the untuned and tuned executables and onnxruntime-node ` +
    `alternate in ${args.rounds} rounds of ${Math.ceil(Number(args.runs) / Number(args.rounds))} ` +
    `timed runs at ${args.threads} threads; medians of the round medians. "kernel estimate": ` +
    `what the tuner expected from its one-kernel timings for the kernels it tuned.`,
    '',
    lib.markdownTable(HEADER, rows.map(cells)),
  ];
  lib.writeSection(path.resolve(args.out), lib.INTRO, 'tuning', md.join('\n'));
  process.exit(rows.some(r => r.error) ? 1 : 0);
}

main().catch(e => { console.error(e.stack || e.message); process.exit(1); });
