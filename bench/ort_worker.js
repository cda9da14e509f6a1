// ort_worker.js - one onnxruntime-node session in its own process, timed on request.
//
// usage: node ort_worker.js MODEL.onnx '{"x":"x.npy"}' THREADS WARMUP
//        node ort_worker.js --baseline
// The benchmark driver (bench/lib.js, OrtWorker) starts one worker per model and thread
// count, so the worker's peak RSS is that model's plus the fixed cost of Node.js and the ORT
// library (--baseline measures that fixed cost: load onnxruntime-node, create no session).
// The session uses all graph optimizations, intraOpNumThreads=THREADS, interOpNumThreads=1,
// sequential execution. After WARMUP runs it prints {"ready":true,...}; then it reads one JSON
// request per line from stdin and answers one JSON line on stdout:
//   {"cmd":"run","runs":N}      -> {"times":[ms,...]}  (process.hrtime around session.run)
//   {"cmd":"outputs","dir":D}   -> {"files":{name:path}} (runs once, writes D/<name>.npy)
//   {"cmd":"exit"}              -> {"vmhwmKB":K}, then exits (VmHWM from /proc/self/status)
'use strict';
const fs = require('fs');
const path = require('path');
const readline = require('readline');
const ort = require(path.join(__dirname, '../node_modules/onnxruntime-node'));
const { readNpy, writeNpy } = require('../scripts/lib/npy');

function vmhwmKB() {
  const m = /^VmHWM:\s*(\d+) kB/m.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) : NaN;
}

const reply = obj => process.stdout.write(JSON.stringify(obj) + '\n');

async function main() {
  if (process.argv[2] === '--baseline') {
    reply({ vmhwmKB: vmhwmKB() });
    return;
  }
  const [model, inputsJson, threads, warmup] = process.argv.slice(2);
  const feeds = {};
  for (const [name, file] of Object.entries(JSON.parse(inputsJson))) {
    const t = readNpy(file);
    feeds[name] = new ort.Tensor(t.dtype, t.data, t.shape);
  }
  const session = await ort.InferenceSession.create(model, {
    graphOptimizationLevel: 'all',
    intraOpNumThreads: Number(threads),
    interOpNumThreads: 1,
    executionMode: 'sequential',
  });
  for (let i = 0; i < Number(warmup); i++) await session.run(feeds);
  reply({ ready: true, outputs: session.outputNames });

  for await (const line of readline.createInterface({ input: process.stdin })) {
    const request = JSON.parse(line);
    if (request.cmd === 'run') {
      const times = [];
      for (let i = 0; i < request.runs; i++) {
        const start = process.hrtime.bigint();
        await session.run(feeds);
        times.push(Number(process.hrtime.bigint() - start) / 1e6);
      }
      reply({ times });
    } else if (request.cmd === 'outputs') {
      const results = await session.run(feeds);
      const files = {};
      fs.mkdirSync(request.dir, { recursive: true });
      for (const [name, tensor] of Object.entries(results)) {
        files[name] = path.join(request.dir, name.replace(/[/:]/g, '_') + '.npy');
        writeNpy(files[name], tensor.type, tensor.dims, tensor.data);
      }
      reply({ files });
    } else if (request.cmd === 'exit') {
      reply({ vmhwmKB: vmhwmKB() });
      process.exit(0);
    } else {
      throw new Error(`unknown request ${line}`);
    }
  }
}

main().catch(e => { console.error(`ort_worker: ${e.message}`); process.exit(1); });
