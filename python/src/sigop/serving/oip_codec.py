"""Open Inference Protocol tensors <-> numpy: typed ``contents`` and ``raw_*_contents`` both.

A tensor is a name, a datatype (``FP64``, ``BYTES`` …) and a shape; its
values come either in the typed field of ``contents`` its datatype names, or
as one entry of the request's ``raw_input_contents`` (little-endian, row-major;
BYTES elements each preceded by a 4-byte little-endian length), never both.
Decoding checks the element count against the shape before any reshaping,
and the shape's size before anything is allocated, so a hostile shape is an
InvalidInput, not a memory error.
"""

from __future__ import annotations

import math
import struct
from collections import Counter
from typing import Sequence

import numpy as np

from ..inference import open_inference_grpc_pb2 as pb
from ..inputs import InvalidInput
from ..limits import clip, clip_list
from .oip_plane import Tensor

__all__ = ["DTYPES", "decode_inputs", "encode_output", "parameter", "tensor_parameters"]

# datatype -> (numpy dtype, typed contents field); FP16 and BF16 travel raw only.
DTYPES = {
    "BOOL": (np.dtype(np.bool_), "bool_contents"),
    "UINT8": (np.dtype("<u1"), "uint_contents"), "UINT16": (np.dtype("<u2"), "uint_contents"),
    "UINT32": (np.dtype("<u4"), "uint_contents"), "UINT64": (np.dtype("<u8"), "uint64_contents"),
    "INT8": (np.dtype("<i1"), "int_contents"), "INT16": (np.dtype("<i2"), "int_contents"),
    "INT32": (np.dtype("<i4"), "int_contents"), "INT64": (np.dtype("<i8"), "int64_contents"),
    "FP16": (np.dtype("<f2"), None), "FP32": (np.dtype("<f4"), "fp32_contents"),
    "FP64": (np.dtype("<f8"), "fp64_contents"),
}
_NAMES = {dtype: name for name, (dtype, _) in DTYPES.items()}


def parameter(p: pb.InferParameter):
    """An InferParameter's value (None when unset)."""
    kind = p.WhichOneof("parameter_choice")
    return None if kind is None else getattr(p, kind)


def tensor_parameters(t, what: str) -> dict:
    """An input's or an output's parameters (``what``: "input" or "output"). The shared-memory extension's are
    refused: sigop does not offer it, and ignoring them would leave an answer where the client does not read."""
    params = {k: parameter(v) for k, v in t.parameters.items()}
    if "shared_memory_region" in params:
        raise InvalidInput(f"{what} {clip(t.name)}: parameter shared_memory_region: this server does not offer the "
                           f"protocol's shared-memory extension (ServerMetadata lists its extensions); send values "
                           f"in contents and read answers from the response, or use sigop's Operator service")
    return params


def _count(name: str, shape: Sequence[int], max_elements: int) -> int:
    if any(d < 0 for d in shape):
        raise InvalidInput(f"input {clip(name)}: shape {clip_list(shape)} has a negative dimension")
    count = math.prod(shape)
    if count > max_elements:
        held = count if count < 1 << 64 else "over 2^64"
        raise InvalidInput(f"input {clip(name)}: shape {clip_list(shape)} holds {held} elements; this server takes "
                           f"at most {max_elements} per input")
    return count


def _bytes_elements(name: str, raw: bytes, count: int) -> list[bytes]:
    out, at = [], 0
    while at < len(raw):
        if at + 4 > len(raw):
            raise InvalidInput(f"input {clip(name)}: raw BYTES end inside an element's 4-byte length")
        (size,) = struct.unpack_from("<I", raw, at)
        if at + 4 + size > len(raw):
            raise InvalidInput(f"input {clip(name)}: a raw BYTES element claims {size} bytes past the end")
        out.append(raw[at + 4:at + 4 + size])
        at += 4 + size
        if len(out) > count:
            break
    if len(out) != count:
        raise InvalidInput(f"input {clip(name)}: raw contents hold {len(out)} BYTES elements; shape needs {count}")
    return out


def _decode(t, raw: bytes | None, max_elements: int) -> Tensor:
    name, shape, datatype = t.name, list(t.shape), t.datatype
    count = _count(name, shape, max_elements)
    params = tensor_parameters(t, "input")
    if datatype == "BYTES":
        if raw is not None:
            return Tensor(name, datatype, shape, _bytes_elements(name, raw, count), params)
        values = list(t.contents.bytes_contents)
        if len(values) != count:
            raise InvalidInput(f"input {clip(name)}: contents hold {len(values)} BYTES elements; shape "
                               f"{clip_list(shape)} needs {count}")
        return Tensor(name, datatype, shape, values, params)
    if datatype not in DTYPES:
        raise InvalidInput(f"input {clip(name)}: datatype {clip(datatype)} is not one of the protocol's: "
                           f"{', '.join(list(DTYPES) + ['BYTES'])}")
    dtype, field = DTYPES[datatype]
    if raw is not None:
        if len(raw) != count * dtype.itemsize:
            raise InvalidInput(f"input {clip(name)}: raw contents have {len(raw)} bytes; shape {clip_list(shape)} of "
                               f"{datatype} needs {count * dtype.itemsize}")
        return Tensor(name, datatype, shape, np.frombuffer(raw, dtype).reshape(shape), params)
    if field is None:
        raise InvalidInput(f"input {clip(name)}: {datatype} has no typed contents; send it in raw_input_contents")
    typed = getattr(t.contents, field)
    if len(typed) != count:
        raise InvalidInput(f"input {clip(name)}: contents.{field} holds {len(typed)} values; shape "
                           f"{clip_list(shape)} needs {count}")
    if dtype.kind in "iu":  # the typed fields are 32 or 64 bits wide; INT8 and friends must fit their type
        wide = np.array(typed, np.uint64 if dtype.kind == "u" else np.int64)
        info = np.iinfo(dtype)
        if len(wide) and (wide.min() < info.min or wide.max() > info.max):
            raise InvalidInput(f"input {clip(name)}: contents.{field} holds values out of {datatype}'s range")
        values = wide.astype(dtype)
    else:
        values = np.array(typed, dtype=dtype)
    return Tensor(name, datatype, shape, values.reshape(shape), params)


def decode_inputs(request: pb.ModelInferRequest, max_elements: int) -> list[Tensor]:
    """The request's input tensors; raw_input_contents, when given, hold every input's values, in order."""
    raw = list(request.raw_input_contents)
    if raw and len(raw) != len(request.inputs):
        raise InvalidInput(f"raw_input_contents has {len(raw)} entries for {len(request.inputs)} inputs; expected one "
                           f"per input, in order")
    out = []
    for i, t in enumerate(request.inputs):
        if raw and t.HasField("contents"):
            raise InvalidInput(f"input {clip(t.name)}: both contents and raw_input_contents are set; expected one of "
                               f"them")
        out.append(_decode(t, raw[i] if raw else None, max_elements))
    names = [t.name for t in out]
    if len(set(names)) != len(names):
        twice = sorted(n for n, k in Counter(names).items() if k > 1)
        raise InvalidInput(f"inputs {clip_list(twice, each=clip)} are each named more than once")
    return out


def encode_output(response: pb.ModelInferResponse, name: str, values: np.ndarray | Sequence[bytes],
                  shape: Sequence[int], raw: bool) -> None:
    """Append output ``name`` to the response: in raw_output_contents when ``raw``, else typed contents."""
    t = response.outputs.add(name=name, shape=list(shape))
    if isinstance(values, np.ndarray):
        values = np.ascontiguousarray(values, values.dtype.newbyteorder("<"))  # the protocol's byte order
        t.datatype = _NAMES[values.dtype]
        if raw:
            response.raw_output_contents.append(values.tobytes())
        else:
            getattr(t.contents, DTYPES[t.datatype][1]).extend(values.reshape(-1).tolist())
        return
    t.datatype = "BYTES"
    if raw:
        response.raw_output_contents.append(b"".join(struct.pack("<I", len(v)) + v for v in values))
    else:
        t.contents.bytes_contents.extend(values)
