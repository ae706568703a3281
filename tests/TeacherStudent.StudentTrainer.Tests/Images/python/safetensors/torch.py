"""safetensors.torch.load_file, by hand: an 8-byte little-endian header length, a JSON header
(dtype, shape, data_offsets per tensor; "__metadata__" skipped), then the tensors' bytes, row-major
and little-endian."""
import json
import struct

import torch

_DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8, "BOOL": torch.bool,
}


def load_file(filename, device="cpu"):
    with open(filename, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    start = 8 + length
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        dtype = _DTYPES[info["dtype"]]
        if end > begin:
            flat = torch.frombuffer(bytearray(data[start + begin:start + end]), dtype=dtype)
        else:
            flat = torch.empty(0, dtype=dtype)
        tensors[name] = flat.reshape(info["shape"]).to(device)
    return tensors
