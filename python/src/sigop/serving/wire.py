"""Float64Tensor <-> numpy, with the validation every request gets.

The wire format is raw little-endian float64 bytes plus a shape, so decoding
is one ``np.frombuffer`` (no copy, no Python list) and encoding one ``tobytes``.
A tensor may instead name a range of a shared-memory region (same host):
then decoding is one read of the region's file into a new array, and
encoding one write into it.
"""

from __future__ import annotations

import numpy as np

from ..inputs import InvalidInput, Unsupported
from ..operator.v1 import operator_pb2 as pb
from .shared_memory import SharedMemory
from .signal_checks import MAX_CHANNELS, check_finite, signal_shape

__all__ = ["decode_signals", "encode_into", "encode_shared", "WIRE_DTYPE", "MAX_CHANNELS"]

WIRE_DTYPE = np.dtype("<f8")


def decode_signals(t: pb.Float64Tensor, *, max_length: int, max_batch: int, channels: bool = False,
                   shared: SharedMemory | None = None) -> tuple[np.ndarray, bool]:
    """Decode a [batch, n] or [n] tensor of signals (with ``channels``, also [batch, channels, n]) into a read-only
    2-D (or 3-D) array.

    Returns the array and whether the request was 1-D (so the answer can have
    the same rank). Raises InvalidInput naming what was expected.
    """
    shape, one_d = signal_shape(list(t.shape), max_length=max_length, max_batch=max_batch, channels=channels)
    want = 8 * int(np.prod(shape))
    content = t.content  # each access copies the bytes out of the message
    if t.HasField("shared_memory"):
        if content:
            raise InvalidInput("signals: both content and shared_memory are set; expected one of them")
        if shared is None:
            raise Unsupported("signals: this call takes its values in content, not in shared memory")
        values = shared.read(t.shared_memory, want, "signals")
    elif len(content) != want:
        raise InvalidInput(
            f"signals: content has {len(content)} bytes but shape {list(t.shape)} needs {want} "
            f"(8 bytes per little-endian float64); ragged batches are not allowed"
        )
    else:
        values = np.frombuffer(content, dtype=WIRE_DTYPE)
    x = values.reshape(shape)
    check_finite(x, one_d)
    return x, one_d


def encode_into(t: pb.Float64Tensor, x: np.ndarray, one_d: bool = False) -> None:
    """Write a 2-D float64 array (or its single row when one_d) into ``t``.

    Filling the response's own field avoids copying the bytes a second time
    through a temporary message.
    """
    x = np.ascontiguousarray(x, dtype=WIRE_DTYPE)
    if one_d:
        x = x.reshape(-1)
    t.shape[:] = x.shape
    t.content = x.tobytes()


def encode_shared(tensors: list[tuple[pb.Float64Tensor, np.ndarray]], one_d: bool, shared: SharedMemory,
                  ref: pb.SharedMemoryRef) -> None:
    """Write each array into ``ref``'s range, one after the other, and point its tensor there (no content)."""
    placed = shared.write(ref, [x.reshape(-1) for _, x in tensors], "output")
    for (t, x), (offset, size) in zip(tensors, placed):
        t.shape[:] = x.shape[1:] if one_d else x.shape
        t.shared_memory.CopyFrom(pb.SharedMemoryRef(region=ref.region, offset=offset, byte_size=size))
