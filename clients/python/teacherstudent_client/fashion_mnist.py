"""Fashion-MNIST images from the IDX files of the Debian package dataset-fashion-mnist."""

import gzip
from pathlib import Path

import numpy as np

DEFAULT_DIRECTORY = "/usr/share/datasets/fashion-mnist"


def load_images(split: str = "t10k", directory: str = DEFAULT_DIRECTORY) -> np.ndarray:
    """The images of a split ("train" or "t10k") as uint8 [N, 1, 28, 28]."""
    stem = Path(directory) / f"{split}-images-idx3-ubyte"
    path = stem.with_name(stem.name + ".gz") if stem.with_name(stem.name + ".gz").exists() else stem
    raw = gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes()
    # IDX: magic 0x00000803 (unsigned bytes, 3 dimensions), then the dimensions as big-endian int32.
    if raw[:4] != b"\x00\x00\x08\x03":
        raise ValueError(f"{path} is not an IDX file of 3-dimensional unsigned bytes")
    count, rows, cols = np.frombuffer(raw, dtype=">i4", count=3, offset=4)
    return np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(count, 1, rows, cols)
