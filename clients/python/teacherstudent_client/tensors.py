"""Tensors on the wire (distill.v1.Tensor: shape + dtype + little-endian bytes) to and from numpy."""

import numpy as np

# Wire dtype number (distill.v1.DType) -> numpy dtype, little-endian. bfloat16 (3) has no numpy
# dtype and is widened to float32 on decoding.
_NUMPY = {1: np.dtype("<f4"), 2: np.dtype("<f2"), 4: np.dtype("<i4"), 5: np.dtype("<i8"), 6: np.dtype("u1"), 7: np.dtype("<u2")}
BFLOAT16 = 3
NAMES = {"float32": 1, "float16": 2, "bfloat16": 3, "int32": 4, "int64": 5, "uint8": 6, "uint16": 7}


def decode(tensor) -> np.ndarray:
    """A distill.v1.Tensor as a numpy array of its shape (bfloat16 widened to float32)."""
    shape = tuple(int(d) for d in tensor.shape)
    count = int(np.prod(shape, dtype=np.int64))
    if tensor.dtype == BFLOAT16:
        raw = np.frombuffer(tensor.data, dtype="<u2")
        _check_length(raw, count, tensor)
        # A bfloat16 is the top half of the float32 with the same sign, exponent and leading mantissa bits.
        return (raw.astype(np.uint32) << 16).view(np.float32).reshape(shape)
    if tensor.dtype not in _NUMPY:
        raise ValueError(f"unknown tensor dtype {tensor.dtype}")
    values = np.frombuffer(tensor.data, dtype=_NUMPY[tensor.dtype])
    _check_length(values, count, tensor)
    return values.reshape(shape)


def encode(array: np.ndarray, tensor_type):
    """A numpy array (float32, float16, int32, int64, uint8 or uint16) as a distill.v1.Tensor message."""
    array = np.asarray(array)
    for wire, dtype in _NUMPY.items():
        if array.dtype.kind == dtype.kind and array.dtype.itemsize == dtype.itemsize:
            # Converts a big-endian array to the wire's little-endian on the way.
            data = np.ascontiguousarray(array, dtype=dtype).tobytes()
            return tensor_type(shape=list(array.shape), dtype=wire, data=data)
    raise ValueError(f"numpy dtype {array.dtype} has no wire dtype; use one of {sorted(NAMES)}")


def _check_length(values, count, tensor):
    if values.size != count:
        raise ValueError(f"tensor of shape {list(tensor.shape)} carries {values.size} values, not {count}")
