// ort_reference.js - onnxruntime's outputs for .npy inputs, written as .npy files.
//
// usage: node ort_reference.js MODEL.onnx OUT_DIR NAME=FILE.npy ...
// Writes OUT_DIR/OUTPUT.npy for every model output (the end-to-end checks in Python compare
// kiln's outputs with these). Exit 1 on any failure.
'use strict';
const fs = require('fs');
const path = require('path');
const { writeNpy, readNpy } = require('../../scripts/lib/npy');

async function main() {
  const [model, outDir, ...inputs] = process.argv.slice(2);
  const ort = require(path.join(__dirname, '../../node_modules/onnxruntime-node'));
  const feeds = {};
  for (const entry of inputs) {
    const [name, file] = entry.split('=');
    const { dtype, shape, data } = readNpy(file);
    feeds[name] = new ort.Tensor(dtype, data, shape);
  }
  const session = await ort.InferenceSession.create(model);
  const outputs = await session.run(feeds);
  fs.mkdirSync(outDir, { recursive: true });
  for (const [name, tensor] of Object.entries(outputs))
    writeNpy(path.join(outDir, `${name}.npy`), tensor.type, tensor.dims, tensor.data);
}

main().catch((error) => {
  console.error(`ort_reference: ${error.message}`);
  process.exit(1);
});
