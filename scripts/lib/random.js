// random.js - seeded pseudo-random tensors shared by the model tests and the benchmarks.
//
// Inputs must be the same on every machine and every run, so tests and benchmarks compare
// kiln and onnxruntime on identical data without committing any.
'use strict';

// mulberry32: a tiny seeded generator so inputs are the same on every machine and every run.
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/// Float32 data of `shape`, uniform in [-1, 1), from `seed`.
function randomTensor(shape, seed) {
  const next = random(seed);
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; ++i) data[i] = next() * 2 - 1;
  return data;
}

module.exports = { random, randomTensor };
