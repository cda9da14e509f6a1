#!/usr/bin/env node
// run-wasi.js MODULE.wasm [ARGS...] - runs a kiln executable built for wasm32-wasi with Node's
// WASI: ARGS are its command line (the same options as a host executable), the host's file
// system is preopened at /, and relative paths are made absolute against this directory
// (a WASI program has no working directory of its host). Exits with the program's status.
'use strict';
const fs = require('fs');
const path = require('path');
const { WASI } = require('wasi');

const [file, ...args] = process.argv.slice(2);
if (!file) {
  console.error('usage: run-wasi.js MODULE.wasm [ARGS...]');
  process.exit(2);
}
// "--input x=in.npy" and "--output-dir out": the path after '=' or the option's value.
const absolute = (arg) => {
  const eq = arg.indexOf('=');
  if (!arg.startsWith('-') && eq > 0 && !path.isAbsolute(arg.slice(eq + 1)))
    return arg.slice(0, eq + 1) + path.resolve(arg.slice(eq + 1));
  if (!arg.startsWith('-') && eq < 0 && (arg.includes('/') || arg.endsWith('.npy') ||
                                          arg.endsWith('.gguf')))
    return path.resolve(arg);
  return arg;
};
const wasi = new WASI({
  version: 'preview1',
  args: [file, ...args.map(absolute)],
  env: {},
  preopens: { '/': '/' },
  returnOnExit: true,
});
(async () => {
  const module = await WebAssembly.compile(fs.readFileSync(file));
  const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
  process.exitCode = wasi.start(instance);
})().catch((e) => {
  console.error(`run-wasi.js: ${e.message}`);
  process.exitCode = 1;
});
