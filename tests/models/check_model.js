// check_model.js - compile an ONNX model with kiln, run it, compare with onnxruntime.
//
// usage: node check_model.js --kiln BUILD/compiler/kiln --model M.onnx --shape x=1,3,48,192
//                            --work DIR [--target aarch64] [--runner "qemu-aarch64 -L ..."]
//                            [--weights embed] [--ort-optimization disabled]
// (QDQ models: onnxruntime's graph optimizations fuse QuantizeLinear/DequantizeLinear pairs
// into integer kernels that round differently from the operators' definition, which kiln
// follows; "disabled" runs onnxruntime on the operators as written.)
// The input is pseudo-random (fixed seed, uniform in [-1, 1)); the reference comes from
// onnxruntime-node on the same input. Passes when max |kiln - ort| <= 1e-4 * max(1, max |ort|)
// for every output. Exit 0 on pass, 1 on mismatch or any failure.
'use strict';
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const { writeNpy, readNpy } = require('../../scripts/lib/npy');
const { random } = require('../../scripts/lib/random');

function parseArgs(argv) {
  const args = { shapes: [] };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (key === 'shape') args.shapes.push(argv[i + 1]);
    else args[key] = argv[i + 1];
  }
  return args;
}


async function main() {
  const args = parseArgs(process.argv.slice(2));
  const ort = require(path.join(__dirname, '../../node_modules/onnxruntime-node'));
  fs.mkdirSync(args.work, { recursive: true });
  const name = path.basename(args.model, '.onnx');
  const exe = path.join(args.work, name);
  const compileArgs = ['compile', args.model, '-o', exe, '--target', args.target || 'host'];
  for (const s of args.shapes) compileArgs.push('--input-shape', s);
  if (args.weights) compileArgs.push('--weights', args.weights);
  execFileSync(args.kiln, compileArgs, { stdio: 'inherit' });

  const feeds = {};
  const runArgs = [];
  const next = random(1234);
  for (const s of args.shapes) {
    const [input, dims] = s.split('=');
    const shape = dims.split(',').map(Number);
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; ++i) data[i] = next() * 2 - 1;
    const file = path.join(args.work, `${input}.npy`);
    writeNpy(file, 'float32', shape, data);
    feeds[input] = new ort.Tensor('float32', data, shape);
    runArgs.push('--input', `${input}=${file}`);
  }
  const session = await ort.InferenceSession.create(args.model,
    args['ort-optimization'] ? { graphOptimizationLevel: args['ort-optimization'] } : {});
  const reference = await session.run(feeds);

  const outDir = path.join(args.work, 'out');
  fs.rmSync(outDir, { recursive: true, force: true });
  fs.mkdirSync(outDir);  // bare-metal executables cannot create it through semihosting
  const runner = args.runner ? args.runner.split(' ') : [];
  const command = [...runner, exe, ...runArgs, '--output-dir', outDir];
  execFileSync(command[0], command.slice(1), { stdio: 'inherit' });

  let ok = true;
  for (const outputName of session.outputNames) {
    const ref = reference[outputName];
    const file = path.join(outDir, outputName.replace(/[/:]/g, '_') + '.npy');
    const got = readNpy(file);
    if (JSON.stringify(got.shape) !== JSON.stringify(ref.dims)) {
      console.log(`FAIL ${name} ${outputName}: shape ${got.shape} != ${ref.dims}`);
      ok = false;
      continue;
    }
    let maxRef = 0, maxDiff = 0, worst = 0;
    for (let i = 0; i < ref.data.length; ++i) {
      maxRef = Math.max(maxRef, Math.abs(ref.data[i]));
      const d = Math.abs(ref.data[i] - got.data[i]);
      if (!(d <= maxDiff)) { maxDiff = d; worst = i; }
    }
    const tolerance = 1e-4 * Math.max(1, maxRef);
    const pass = maxDiff <= tolerance;
    ok = ok && pass;
    console.log(`${pass ? 'PASS' : 'FAIL'} ${name} ${outputName}: max abs diff ${maxDiff.toExponential(3)}` +
                ` (tolerance ${tolerance.toExponential(3)}, max |ref| ${maxRef.toFixed(4)})` +
                (pass ? '' : `; first worst at index ${worst}: expected ${ref.data[worst]}, got ${got.data[worst]}`));
  }
  process.exit(ok ? 0 : 1);
}

main().catch(e => { console.error(`FAIL: ${e.message}`); process.exit(1); });
