// compare_layers.js - kiln's kernels beside onnxruntime's profiled nodes for one model, so the
// layers where kiln loses are obvious.
//
// usage: node bench/compare_layers.js (NAME | MODEL.onnx --input-shape 'IN=D,D,... [IN2=...]')
//                                     [--threads 1] [--runs 20] [--top 30] [--kiln build/compiler/kiln]
//
// NAME is a benchmark model (bench/run.js --models: one of the five or of the broad set).
// The script compiles the model for the host with `--emit-source-map` (which model nodes each
// kernel computes), runs kiln's executable with `--bench RUNS --profile` (mean time per
// kernel) and onnxruntime-node with profiling on (all graph optimizations, the same thread
// count; per node the mean of its timed runs, the first run left out as warm-up), then
// charges each onnxruntime node to the kiln kernel that computes the same model node
// (onnxruntime keeps a model node's name when it fuses into it and names its NCHWc layout
// nodes after the tensor they compute; see matchNode). A node of its own (a reorder between
// layouts) matches no kiln kernel and is listed apart. A kernel is printed with its model
// nodes' op types, both times and the difference, largest loss first; the totals show how
// much of each run the table covers.
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const lib = require('./lib');
const ort = require(path.join(__dirname, '../node_modules/onnxruntime-node'));
const { readNpy } = require('../scripts/lib/npy');

const USAGE = 'usage: node bench/compare_layers.js (NAME | MODEL.onnx --input-shape IN=D,D,...) ' +
  '[--threads 1] [--runs 20] [--top 30] [--kiln build/compiler/kiln]';

/// Parses `kiln --profile` output: {step: mean ms}.
function parseProfile(text) {
  const times = {};
  for (const m of text.matchAll(/^(\S+)\s+([\d.]+)\s+[\d.]+%$/gm)) {
    if (m[1] !== 'total' && m[1] !== 'step') times[m[1]] = Number(m[2]);
  }
  return times;
}

/// Runs onnxruntime with profiling; returns {node name: {ms (mean per run), op}}.
async function ortProfile(model, inputFiles, threads, runs, dir) {
  const feeds = {};
  for (const [name, file] of Object.entries(inputFiles)) {
    const t = readNpy(file);
    feeds[name] = new ort.Tensor(t.dtype, t.data, t.shape);
  }
  const prefix = path.join(dir, 'ort-profile');
  const session = await ort.InferenceSession.create(model, {
    graphOptimizationLevel: 'all', intraOpNumThreads: threads, interOpNumThreads: 1,
    executionMode: 'sequential', enableProfiling: true, profileFilePrefix: prefix,
  });
  for (let i = 0; i < runs + 1; i++) await session.run(feeds);
  session.endProfiling();
  await session.release();
  const file = fs.readdirSync(dir).filter(f => f.startsWith('ort-profile') && f.endsWith('.json'))
    .map(f => path.join(dir, f)).sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)[0];
  if (!file) throw new Error(`onnxruntime wrote no profile under ${dir}`);
  const events = JSON.parse(fs.readFileSync(file, 'utf8'));
  const nodes = {};
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const name = e.name.slice(0, -'_kernel_time'.length);
    const node = nodes[name] || (nodes[name] = { durations: [], op: (e.args && e.args.op_name) || '?' });
    node.durations.push(e.dur / 1000);
  }
  const result = {};
  for (const [name, node] of Object.entries(nodes)) {
    const timed = node.durations.length > 1 ? node.durations.slice(1) : node.durations;
    // A node may run more than once per run (inside a loop): the mean per run sums them.
    const perRun = timed.reduce((a, b) => a + b, 0) / Math.max(1, runs);
    result[name] = { ms: perRun, op: node.op };
  }
  fs.rmSync(file, { force: true });
  return result;
}

/// {node name: [output names]} of the model's graph (python3-onnx; weights not loaded).
function nodeOutputs(model) {
  const script = 'import json, sys, onnx\n' +
    'm = onnx.load(sys.argv[1], load_external_data=False)\n' +
    'print(json.dumps({n.name: list(n.output) for n in m.graph.node}))';
  return JSON.parse(spawnSync('/usr/bin/python3', ['-c', script, model],
                              { encoding: 'utf8', maxBuffer: 1 << 28 }).stdout || '{}');
}

/// The model node an onnxruntime node stands for. onnxruntime keeps a node's name when it
/// fuses into it and names the nodes of its layout passes after the output tensor they
/// compute ("<output>_nchwc"), so: the node's own name, else a tensor name it starts with
/// (that tensor's producer), else the longest node name it starts with, else null.
function matchNode(ortName, owners, producers, prefixes) {
  if (owners.has(ortName)) return ortName;
  for (const [prefix, node] of prefixes) if (ortName.startsWith(prefix)) return node;
  return producers.get(ortName) || null;
}

async function main() {
  const argv = process.argv.slice(2);
  const positional = argv[0] && !argv[0].startsWith('--') ? argv.shift() : null;
  const args = lib.parseArgs(argv, {
    'input-shape': '', threads: '1', runs: '20', top: '30',
    kiln: path.join(lib.REPO, 'build/compiler/kiln'),
  }, USAGE);
  if (!positional) { console.error(USAGE); process.exit(2); }
  let spec, name;
  if (positional.endsWith('.onnx')) {
    name = path.basename(positional, '.onnx');
    const inputs = {};
    for (const item of args['input-shape'].split(/[\s;]+/).filter(Boolean)) {
      const [input, dims] = item.split('=');
      if (!dims) { console.error(`--input-shape takes IN=D,D,...\n${USAGE}`); process.exit(2); }
      inputs[input] = dims.split(/[x,]/).map(Number);
    }
    spec = { file: path.resolve(positional), inputs };
  } else {
    name = positional;
    spec = lib.modelSpec(name);
    if (!spec) { console.error(`unknown model ${name}\n${USAGE}`); process.exit(2); }
    lib.ensureModel(name);
  }
  const threads = Number(args.threads), runs = Number(args.runs);
  const dir = path.join(lib.WORK, 'layers', name);
  fs.mkdirSync(dir, { recursive: true });
  const exe = path.join(dir, name), mapFile = path.join(dir, 'source-map.json');
  const compileArgs = ['compile', spec.file, '-o', exe, '--emit-source-map', mapFile];
  for (const [input, shape] of Object.entries(spec.inputs)) compileArgs.push('--input-shape', `${input}=${shape.join(',')}`);
  const compiled = spawnSync(path.resolve(args.kiln), compileArgs, { encoding: 'utf8' });
  if (compiled.status !== 0) throw new Error(`kiln compile failed:\n${compiled.stdout}${compiled.stderr}`);
  const inputFiles = lib.writeInputs(spec, dir);

  const runArgs = [];
  for (const [input, file] of Object.entries(inputFiles)) runArgs.push('--input', `${input}=${file}`);
  runArgs.push('--bench', String(runs), '--threads', String(threads), '--profile');
  const ran = spawnSync(exe, runArgs, { encoding: 'utf8' });
  if (ran.status !== 0) throw new Error(`${exe} failed:\n${ran.stdout}${ran.stderr}`);
  const kilnTimes = parseProfile(ran.stdout);
  const kilnMedian = Number((/latency: median ([\d.]+) ms/.exec(ran.stdout) || [0, NaN])[1]);
  const ortNodes = await ortProfile(spec.file, inputFiles, threads, runs, dir);

  const map = JSON.parse(fs.readFileSync(mapFile, 'utf8')).kernels;
  const owners = new Map();  // model node -> kernels computing (part of) it
  for (const kernel of map) {
    for (const node of kernel.nodes) {
      if (!owners.has(node.name)) owners.set(node.name, []);
      owners.get(node.name).push(kernel.name);
    }
  }
  const producers = new Map();  // tensor name -> the node computing it
  for (const [node, outputs] of Object.entries(nodeOutputs(spec.file))) {
    for (const output of outputs) if (owners.has(node)) producers.set(output, node);
  }
  const prefixes = [...[...producers].map(([tensor, node]) => [tensor, node]),
                    ...[...owners.keys()].map(node => [node, node])]
    .sort((a, b) => b[0].length - a[0].length);
  const rows = new Map(map.map(k => [k.name, { kernel: k.name, nodes: k.nodes.map(n => n.name),
                                               ops: new Set(k.nodes.map(n => n.op).filter(Boolean)),
                                               kiln: kilnTimes[k.name] || 0, ort: 0 }]));
  const unmatched = [];
  for (const [ortName, node] of Object.entries(ortNodes)) {
    const modelNode = matchNode(ortName, owners, producers, prefixes);
    if (!modelNode) { unmatched.push({ name: ortName, ...node }); continue; }
    const kernels = owners.get(modelNode);
    for (const kernel of kernels) rows.get(kernel).ort += node.ms / kernels.length;  // shared evenly
  }
  const list = [...rows.values()].sort((a, b) => (b.kiln - b.ort) - (a.kiln - a.ort));
  const kilnTotal = list.reduce((s, r) => s + r.kiln, 0);
  const ortTotal = Object.values(ortNodes).reduce((s, n) => s + n.ms, 0);
  const short = nodes => {
    const text = nodes.length ? nodes[0] + (nodes.length > 1 ? ` +${nodes.length - 1}` : '') : '(layout)';
    return text.length > 48 ? '…' + text.slice(-47) : text;
  };
  const header = ['kernel', 'model nodes', 'model ops', 'kiln ms', 'ort ms', 'kiln/ort', 'kiln-ort ms'];
  const body = list.slice(0, Number(args.top)).map(r => [
    r.kernel, short(r.nodes), [...r.ops].join(',') || '-', r.kiln.toFixed(3), r.ort.toFixed(3),
    r.ort > 0 ? (r.kiln / r.ort).toFixed(2) : '-', (r.kiln - r.ort).toFixed(3)]);
  console.log(`${name}, ${threads} thread${threads === 1 ? '' : 's'}, ${runs} runs; kernels by time lost to onnxruntime:`);
  console.log(lib.textTable(header, body));
  const unmatchedMs = unmatched.reduce((s, n) => s + n.ms, 0);
  console.log(`\nsum of kernels: kiln ${kilnTotal.toFixed(3)} ms (run median ${kilnMedian.toFixed(3)} ms); ` +
              `onnxruntime nodes ${ortTotal.toFixed(3)} ms, of which ${unmatchedMs.toFixed(3)} ms in ` +
              `${unmatched.length} nodes of its own` +
              (unmatched.length ? ': ' + unmatched.sort((a, b) => b.ms - a.ms).slice(0, 5)
                .map(n => `${n.name} (${n.op}) ${n.ms.toFixed(3)}`).join(', ') : ''));
  const byOp = {};
  for (const r of list) {
    const key = [...r.ops].sort().join('+') || '(layout)';
    const e = byOp[key] || (byOp[key] = { kiln: 0, ort: 0, count: 0 });
    e.kiln += r.kiln; e.ort += r.ort; e.count++;
  }
  console.log('\nby the model op types a kernel computes:');
  console.log(lib.textTable(['ops', 'kernels', 'kiln ms', 'ort ms', 'kiln-ort ms'],
    Object.entries(byOp).sort((a, b) => (b[1].kiln - b[1].ort) - (a[1].kiln - a[1].ort))
      .map(([k, e]) => [k, e.count, e.kiln.toFixed(3), e.ort.toFixed(3), (e.kiln - e.ort).toFixed(3)])));
}

main().catch(e => { console.error(e.message); process.exit(1); });
