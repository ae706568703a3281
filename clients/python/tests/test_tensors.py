"""Decoding and encoding of wire tensors, against values worked out by hand."""

import struct
import unittest

import numpy as np

from teacherstudent_client import decode, encode
from teacherstudent_client.client import pb2


def tensor(shape, dtype, data):
    return pb2.Tensor(shape=shape, dtype=dtype, data=data)


class TensorTests(unittest.TestCase):
    def test_float32_is_little_endian_in_row_major_order(self):
        data = struct.pack("<4f", 0.0, -1.5, 2.25, -8.0)
        np.testing.assert_array_equal(decode(tensor([2, 2], pb2.DTYPE_FLOAT32, data)), [[0.0, -1.5], [2.25, -8.0]])

    def test_float16_bits_decode_to_their_values(self):
        # 0x3C00 = 1, 0xC000 = -2, 0x3555 ~ 0.33325, 0x0001 = 2^-24 (smallest subnormal), 0xFC00 = -inf.
        data = struct.pack("<5H", 0x3C00, 0xC000, 0x3555, 0x0001, 0xFC00)
        values = decode(tensor([5], pb2.DTYPE_FLOAT16, data))
        self.assertEqual(values.dtype, np.float16)
        np.testing.assert_array_equal(values.astype(np.float64), [1.0, -2.0, 0.333251953125, 2.0 ** -24, -np.inf])

    def test_bfloat16_is_the_top_half_of_a_float32(self):
        # 0x3F80 -> 0x3F800000 = 1.0; 0xC0A0 -> 0xC0A00000 = -5.0.
        values = decode(tensor([2], pb2.DTYPE_BFLOAT16, struct.pack("<2H", 0x3F80, 0xC0A0)))
        np.testing.assert_array_equal(values, np.array([1.0, -5.0], dtype=np.float32))

    def test_sparse_ids_come_as_uint16_or_int32(self):
        ids16 = decode(tensor([1, 1, 3], pb2.DTYPE_UINT16, struct.pack("<3H", 7, 65535, 0)))
        ids32 = decode(tensor([1, 1, 2], pb2.DTYPE_INT32, struct.pack("<2i", 70000, 3)))
        self.assertEqual((ids16.dtype, ids32.dtype), (np.dtype("<u2"), np.dtype("<i4")))
        np.testing.assert_array_equal(ids16, [[[7, 65535, 0]]])
        np.testing.assert_array_equal(ids32, [[[70000, 3]]])

    def test_a_tensor_whose_bytes_do_not_fit_its_shape_is_refused(self):
        with self.assertRaises(ValueError):
            decode(tensor([2, 3], pb2.DTYPE_FLOAT32, b"\0" * 20))

    def test_encoding_writes_little_endian_bytes_whatever_the_array_order(self):
        t = encode(np.array([[1, 258]], dtype=">u2"), pb2.Tensor)
        self.assertEqual((list(t.shape), t.dtype, t.data), ([1, 2], pb2.DTYPE_UINT16, b"\x01\x00\x02\x01"))

    def test_images_round_trip_as_uint8(self):
        images = np.arange(2 * 784, dtype=np.uint8).reshape(2, 1, 28, 28)
        np.testing.assert_array_equal(decode(encode(images, pb2.Tensor)), images)


if __name__ == "__main__":
    unittest.main()
