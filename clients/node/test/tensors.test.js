'use strict';
// Decoding and encoding of wire tensors and .npy files, against values worked out by hand.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { decode, encode, halfToFloat } = require('../src/tensors');
const npy = require('../src/npy');

function bytes(format, values) {
  const size = { f: 4, H: 2, i: 4 }[format];
  const buffer = Buffer.alloc(values.length * size);
  values.forEach((v, i) => {
    if (format === 'f') buffer.writeFloatLE(v, i * size);
    else if (format === 'H') buffer.writeUInt16LE(v, i * size);
    else buffer.writeInt32LE(v, i * size);
  });
  return buffer;
}

test('float32 is little-endian in row-major order', () => {
  const t = decode({ shape: ['2', '2'], dtype: 'DTYPE_FLOAT32', data: bytes('f', [0, -1.5, 2.25, -8]) });
  assert.deepEqual(t.shape, [2, 2]);
  assert.deepEqual([...t.values], [0, -1.5, 2.25, -8]);
});

test('float16 bits decode to their values', () => {
  // 0x3C00 = 1, 0xC000 = -2, 0x3555 = 0.333251953125, 0x0001 = 2^-24 (smallest subnormal), 0xFC00 = -inf, 0x7E00 = NaN.
  assert.deepEqual([0x3c00, 0xc000, 0x3555, 0x0001, 0xfc00].map(halfToFloat), [1, -2, 0.333251953125, 2 ** -24, -Infinity]);
  assert.ok(Number.isNaN(halfToFloat(0x7e00)));
  const t = decode({ shape: [2], dtype: 'DTYPE_FLOAT16', data: bytes('H', [0x3c00, 0xc000]) });
  assert.deepEqual([...t.values], [1, -2]);
});

test('bfloat16 is the top half of a float32', () => {
  const t = decode({ shape: [2], dtype: 'DTYPE_BFLOAT16', data: bytes('H', [0x3f80, 0xc0a0]) });
  assert.deepEqual([...t.values], [1, -5]);
});

test('sparse ids come as uint16 or int32', () => {
  const ids16 = decode({ shape: [1, 1, 3], dtype: 'DTYPE_UINT16', data: bytes('H', [7, 65535, 0]) });
  const ids32 = decode({ shape: [1, 1, 2], dtype: 'DTYPE_INT32', data: bytes('i', [70000, 3]) });
  assert.ok(ids16.values instanceof Uint16Array);
  assert.deepEqual([...ids16.values], [7, 65535, 0]);
  assert.ok(ids32.values instanceof Int32Array);
  assert.deepEqual([...ids32.values], [70000, 3]);
});

test('a tensor whose bytes do not fit its shape is refused', () => {
  assert.throws(() => decode({ shape: [2, 3], dtype: 'DTYPE_FLOAT32', data: Buffer.alloc(20) }), /carries 20 bytes, not 24/);
});

test('images round-trip as uint8', () => {
  const values = Uint8Array.from({ length: 2 * 784 }, (_, i) => i % 256);
  const t = encode(values, [2, 1, 28, 28]);
  assert.equal(t.dtype, 'DTYPE_UINT8');
  assert.deepEqual([...decode(t).values], [...values]);
});

test('a .npy file written is read back with its shape and dtype', () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'npy-')), 'a.npy');
  npy.save(file, new Int32Array([1, -2, 3, 70000, 5, 6]), [2, 3]);
  const back = npy.load(file);
  assert.deepEqual(back.shape, [2, 3]);
  assert.ok(back.values instanceof Int32Array);
  assert.deepEqual([...back.values], [1, -2, 3, 70000, 5, 6]);
  // The header is padded so that the data starts at a multiple of 64 bytes, as numpy writes it.
  assert.equal((fs.readFileSync(file).length - 24) % 64, 0);
});
