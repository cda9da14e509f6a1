// npy.js - read and write NumPy .npy files from Node (float32/float64/int32/int64/uint8/bool).
//
// The model tests and benchmarks exchange tensors with kiln executables as .npy files; this
// is the small codec they share.
'use strict';
const fs = require('fs');

const DESCR = {
  float32: ['<f4', Float32Array], float64: ['<f8', Float64Array], int32: ['<i4', Int32Array],
  int64: ['<i8', BigInt64Array], uint8: ['|u1', Uint8Array], bool: ['|b1', Uint8Array],
  int8: ['|i1', Int8Array],
};

function writeNpy(path, dtype, shape, data) {
  const [descr] = DESCR[dtype];
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1; head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  fs.writeFileSync(path, Buffer.concat([head, Buffer.from(header, 'latin1'), body]));
}

function readNpy(path) {
  const buf = fs.readFileSync(path);
  if (buf.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${path}: not an .npy file`);
  const major = buf[6];
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.toString('latin1', start, start + headerLen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map(s => s.trim())
    .filter(s => s.length).map(Number);
  const entry = Object.entries(DESCR).find(([, [d]]) => d === descr);
  if (!entry) throw new Error(`${path}: unsupported dtype ${descr}`);
  const [dtype, [, Ctor]] = entry;
  const offset = start + headerLen;
  const bytes = buf.subarray(offset);
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return { dtype, shape, data: new Ctor(copy.buffer) };
}

module.exports = { writeNpy, readNpy };
