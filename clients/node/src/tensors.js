'use strict';
// Tensors on the wire (distill.v1.Tensor: shape + dtype + little-endian bytes) to and from typed arrays.

/** Wire dtype name -> [bytes per element, typed array to decode into]. */
const DTYPES = {
  DTYPE_FLOAT32: [4, Float32Array],
  DTYPE_FLOAT16: [2, Float32Array], // widened: Node has no Float16Array
  DTYPE_BFLOAT16: [2, Float32Array], // widened
  DTYPE_INT32: [4, Int32Array],
  DTYPE_INT64: [8, BigInt64Array],
  DTYPE_UINT8: [1, Uint8Array],
  DTYPE_UINT16: [2, Uint16Array],
};

/** An IEEE 754 half-precision value (its 16 bits) as a number. */
function halfToFloat(bits) {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24; // zero and subnormals
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/**
 * A distill.v1.Tensor (as @grpc/proto-loader gives it: shape of numbers or strings, dtype name,
 * data a Buffer) as { shape, dtype, values }: values a typed array, float16 and bfloat16 widened
 * to float32.
 */
function decode(tensor) {
  const shape = tensor.shape.map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const entry = DTYPES[tensor.dtype];
  if (!entry) throw new Error(`unknown tensor dtype ${tensor.dtype}`);
  const [size, Type] = entry;
  const data = tensor.data;
  if (data.length !== count * size) {
    throw new Error(`tensor of shape [${shape}] and dtype ${tensor.dtype} carries ${data.length} bytes, not ${count * size}`);
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const values = new Type(count);
  for (let i = 0; i < count; i++) {
    switch (tensor.dtype) {
      case 'DTYPE_FLOAT32': values[i] = view.getFloat32(i * 4, true); break;
      case 'DTYPE_FLOAT16': values[i] = halfToFloat(view.getUint16(i * 2, true)); break;
      // A bfloat16 is the top half of the float32 with the same sign, exponent and leading mantissa bits.
      case 'DTYPE_BFLOAT16': values[i] = new Float32Array(new Uint32Array([view.getUint16(i * 2, true) << 16]).buffer)[0]; break;
      case 'DTYPE_INT32': values[i] = view.getInt32(i * 4, true); break;
      case 'DTYPE_INT64': values[i] = view.getBigInt64(i * 8, true); break;
      case 'DTYPE_UINT8': values[i] = data[i]; break;
      case 'DTYPE_UINT16': values[i] = view.getUint16(i * 2, true); break;
    }
  }
  return { shape, dtype: tensor.dtype, values };
}

/** A typed array and its shape as a distill.v1.Tensor (Uint8Array, Uint16Array, Int32Array, BigInt64Array, Float32Array). */
function encode(values, shape) {
  const dtype = values instanceof Uint8Array ? 'DTYPE_UINT8'
    : values instanceof Uint16Array ? 'DTYPE_UINT16'
      : values instanceof Int32Array ? 'DTYPE_INT32'
        : values instanceof BigInt64Array ? 'DTYPE_INT64'
          : values instanceof Float32Array ? 'DTYPE_FLOAT32' : null;
  if (!dtype) throw new Error('inputs must be a Uint8Array, Uint16Array, Int32Array, BigInt64Array or Float32Array');
  const count = shape.reduce((a, b) => a * b, 1);
  if (values.length !== count) throw new Error(`${values.length} values do not make a tensor of shape [${shape}]`);
  // Typed arrays are in the machine's byte order; every machine Node runs on is little-endian.
  const data = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  return { shape, dtype, data };
}

module.exports = { decode, encode, halfToFloat };
