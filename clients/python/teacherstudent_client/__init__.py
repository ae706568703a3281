"""Python client of the TeacherStudent teacher service (protos/distill/v1)."""

from .client import BatchError, GeneratedSample, Reply, SparseTargets, TeacherClient
from .tensors import decode, encode

__all__ = ["TeacherClient", "Reply", "SparseTargets", "BatchError", "GeneratedSample", "decode", "encode"]
