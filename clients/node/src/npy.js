'use strict';
// numpy's .npy format (version 1.0), for the typed arrays the client decodes into.
const fs = require('node:fs');

const DESCR = new Map([[Float32Array, '<f4'], [Uint16Array, '<u2'], [Int32Array, '<i4'], [BigInt64Array, '<i8'], [Uint8Array, '|u1']]);
const TYPES = new Map([...DESCR].map(([type, descr]) => [descr, type]));

/** Writes values (a typed array) of the given shape to path as a .npy file numpy.load reads. */
function save(path, values, shape) {
  const descr = DESCR.get(values.constructor);
  if (!descr) throw new Error(`no .npy dtype for ${values.constructor.name}`);
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${dims}), }`;
  // Magic (6) + version (2) + header length (2) + header, padded with spaces to a multiple of 64, ending in \n.
  header = header.padEnd(Math.ceil((10 + header.length + 1) / 64) * 64 - 10 - 1, ' ') + '\n';
  const prefix = Buffer.alloc(10);
  prefix.write('\x93NUMPY', 0, 'latin1');
  prefix[6] = 1;
  prefix[7] = 0;
  prefix.writeUInt16LE(header.length, 8);
  fs.writeFileSync(path, Buffer.concat([prefix, Buffer.from(header, 'latin1'), Buffer.from(values.buffer, values.byteOffset, values.byteLength)]));
}

/** Reads a C-ordered little-endian .npy file: { shape, values }. */
function load(path) {
  const bytes = fs.readFileSync(path);
  if (bytes.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${path} is not a .npy file`);
  const major = bytes[6];
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = bytes.toString('latin1', start, start + headerLength);
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  if (/'fortran_order':\s*True/.test(header)) throw new Error(`${path} is Fortran-ordered`);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const Type = TYPES.get(descr === '<i8' || descr === '<f4' || descr === '<u2' || descr === '<i4' ? descr : descr.replace('<', '|'));
  if (!Type) throw new Error(`${path} holds dtype ${descr}; uint8, uint16, int32, int64 or float32 are read`);
  const body = bytes.subarray(start + headerLength);
  const copy = new Uint8Array(body); // aligned for the typed array
  return { shape, values: new Type(copy.buffer, 0, body.length / Type.BYTES_PER_ELEMENT) };
}

module.exports = { save, load };
