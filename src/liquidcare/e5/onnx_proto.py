"""Just enough of the ONNX file format to hand onnxruntime a graph we build ourselves.

onnxruntime loads a model from bytes, and an ONNX model is a protocol-buffers message; the
`onnx` package that usually writes one is not a dependency of ours (nor of onnxruntime), so the
few messages a plain inference graph needs are written here, field by field, with the field
numbers of onnx.proto (ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto,
ValueInfoProto). Nothing here reads ONNX; onnxruntime checks what we write when it loads it.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np

IR_VERSION = 8  # ONNX IR of opset 17
# TensorProto.DataType
FLOAT, UINT8, INT8, INT32, INT64, FLOAT16 = 1, 2, 3, 6, 7, 10
_DTYPES = {np.dtype(np.float32): FLOAT, np.dtype(np.uint8): UINT8, np.dtype(np.int8): INT8,
           np.dtype(np.int32): INT32, np.dtype(np.int64): INT64,
           np.dtype(np.float16): FLOAT16}
# AttributeProto.AttributeType
_ATTR_FLOAT, _ATTR_INT, _ATTR_INTS = 1, 2, 7


def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # negative int64s are written as their two's complement, 10 bytes
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        if not n:
            out.append(low)
            return bytes(out)
        out.append(low | 0x80)


def _int(field: int, value: int) -> bytes:
    return _varint(field << 3) + _varint(int(value))


def _bytes(field: int, value: bytes | str) -> bytes:
    data = value.encode("utf-8") if isinstance(value, str) else value
    return _varint(field << 3 | 2) + _varint(len(data)) + data


def tensor(name: str, array: np.ndarray) -> bytes:
    """A TensorProto: dims (1), data_type (2), name (8), raw_data (9, little-endian)."""
    array = np.ascontiguousarray(array)
    if array.dtype not in _DTYPES:
        raise ValueError(f"tensor {name!r}: dtype {array.dtype} has no ONNX type here")
    return (b"".join(_int(1, d) for d in array.shape) + _int(2, _DTYPES[array.dtype])
            + _bytes(8, name) + _bytes(9, array.astype(array.dtype.newbyteorder("<")).tobytes()))


def _attribute(name: str, value: float | int | Sequence[int]) -> bytes:
    """An AttributeProto: name (1), f (2), i (3), ints (8), type (20)."""
    head = _bytes(1, name)
    if isinstance(value, bool):
        raise TypeError(f"attribute {name!r}: give booleans as 0 or 1")
    if isinstance(value, float):
        return head + _varint(2 << 3 | 5) + struct.pack("<f", value) + _int(20, _ATTR_FLOAT)
    if isinstance(value, int):
        return head + _int(3, value) + _int(20, _ATTR_INT)
    return head + b"".join(_int(8, v) for v in value) + _int(20, _ATTR_INTS)


def node(op: str, inputs: Sequence[str], outputs: Sequence[str], domain: str = "",
         **attributes: float | int | Sequence[int]) -> bytes:
    """A NodeProto: input (1), output (2), op_type (4), attribute (5), domain (7). An empty
    input name is an optional input left out."""
    return (b"".join(_bytes(1, i) for i in inputs) + b"".join(_bytes(2, o) for o in outputs)
            + _bytes(4, op) + b"".join(_bytes(5, _attribute(k, v)) for k, v in attributes.items())
            + (_bytes(7, domain) if domain else b""))


def value_info(name: str, elem_type: int, dims: Sequence[int | str]) -> bytes:
    """A ValueInfoProto of a tensor: a dimension is a size or, as a string, a named free one."""
    shape = b"".join(_bytes(1, _int(1, d) if isinstance(d, int) else _bytes(2, d)) for d in dims)
    tensor_type = _int(1, elem_type) + _bytes(2, shape)
    return _bytes(1, name) + _bytes(2, _bytes(1, tensor_type))


def model(nodes: Sequence[bytes], initializers: Sequence[bytes], inputs: Sequence[bytes],
          outputs: Sequence[bytes], opsets: dict[str, int], name: str = "graph") -> bytes:
    """A ModelProto: ir_version (1), producer_name (2), graph (7), opset_import (8)."""
    graph = (b"".join(_bytes(1, n) for n in nodes) + _bytes(2, name)
             + b"".join(_bytes(5, t) for t in initializers)
             + b"".join(_bytes(11, i) for i in inputs) + b"".join(_bytes(12, o) for o in outputs))
    imports = b"".join(_bytes(8, _bytes(1, domain) + _int(2, version))
                       for domain, version in opsets.items())
    return _int(1, IR_VERSION) + _bytes(2, "liquidcare") + _bytes(7, graph) + imports
