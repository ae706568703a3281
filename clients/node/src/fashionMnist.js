'use strict';
// Fashion-MNIST images from the IDX files of the Debian package dataset-fashion-mnist.
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');

const DEFAULT_DIRECTORY = '/usr/share/datasets/fashion-mnist';

/** The images of a split ("train" or "t10k"): { values: Uint8Array, shape: [N, 1, 28, 28] }. */
function loadImages(split = 't10k', directory = DEFAULT_DIRECTORY) {
  const stem = path.join(directory, `${split}-images-idx3-ubyte`);
  const raw = fs.existsSync(`${stem}.gz`) ? zlib.gunzipSync(fs.readFileSync(`${stem}.gz`)) : fs.readFileSync(stem);
  // IDX: magic 0x00000803 (unsigned bytes, 3 dimensions), then the dimensions as big-endian int32.
  if (raw.readUInt32BE(0) !== 0x803) throw new Error(`${stem} is not an IDX file of 3-dimensional unsigned bytes`);
  const [count, rows, cols] = [raw.readInt32BE(4), raw.readInt32BE(8), raw.readInt32BE(12)];
  return { values: new Uint8Array(raw.subarray(16, 16 + count * rows * cols)), shape: [count, 1, rows, cols] };
}

module.exports = { loadImages, DEFAULT_DIRECTORY };
