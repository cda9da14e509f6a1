// make_input.js - write a pseudo-random float32 .npy input (fixed seed) for the demo.
// usage: node make_input.js OUT.npy 1,3,48,192
'use strict';
const { writeNpy } = require('../../scripts/lib/npy');
const [file, dims] = process.argv.slice(2);
const shape = dims.split(',').map(Number);
const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
let seed = 42;
for (let i = 0; i < data.length; ++i) {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
  data[i] = seed / 4294967296 * 2 - 1;
}
writeNpy(file, 'float32', shape, data);
