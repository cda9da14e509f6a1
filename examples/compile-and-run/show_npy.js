// show_npy.js - print an .npy file's dtype, shape and first values.
'use strict';
const { readNpy } = require('../../scripts/lib/npy');
const file = process.argv[2];
const { dtype, shape, data } = readNpy(file);
console.log(`${file}: ${dtype} [${shape.join(',')}] ${Array.from(data.slice(0, 8)).join(' ')}`);
