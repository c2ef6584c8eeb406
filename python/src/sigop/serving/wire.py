"""Float64Tensor <-> numpy, with the validation every request gets.

The wire format is raw little-endian float64 bytes plus a shape, so decoding
is one ``np.frombuffer`` (no copy, no Python list) and encoding one ``tobytes``.
A tensor may instead name a range of a shared-memory region (same host):
then decoding is a view of the mapped file, and encoding a copy into it.
"""

from __future__ import annotations

import numpy as np

from ..inputs import InvalidInput, Unsupported
from ..operator.v1 import operator_pb2 as pb
from .shared_memory import SharedMemory

__all__ = ["signal_shape", "check_finite", "decode_signals", "encode_into", "encode_shared", "WIRE_DTYPE", "MAX_CHANNELS"]

WIRE_DTYPE = np.dtype("<f8")
MAX_CHANNELS = 1024  # a signal's axes; as many as a file may have (signals.MAX_FILE_CHANNELS)


def signal_shape(shape: list[int], *, max_length: int, max_batch: int, channels: bool = False,
                 field: str = "signals") -> tuple[list[int], bool]:
    """Check a tensor shape of signals ([n], [batch, n], with ``channels`` also [batch, channels, n]) against the
    server's limits: the 2-D (or 3-D) shape its values take, and whether the request was 1-D (so the answer can
    have the same rank). Raises InvalidInput naming what was expected. Every protocol's signals pass here."""
    ranks = (1, 2, 3) if channels else (1, 2)
    if len(shape) not in ranks:
        expected = "[n], [batch, n] or [batch, channels, n]" if channels else "[n] or [batch, n]"
        raise InvalidInput(f"{field}: shape {shape} has rank {len(shape)}; expected {expected}")
    if any(d < 0 for d in shape):
        raise InvalidInput(f"{field}: shape {shape} has a negative dimension")
    one_d = len(shape) == 1
    batch, n = (1, shape[0]) if one_d else (shape[0], shape[-1])
    width = shape[1] if len(shape) == 3 else 1
    if width > MAX_CHANNELS:
        raise InvalidInput(f"{field}: {width} channels exceed the {MAX_CHANNELS} a signal may have")
    if n == 0 or batch == 0 or width == 0:
        raise InvalidInput(f"{field}: shape {shape} is empty; expected at least one signal of n >= 1 samples")
    if n > max_length:
        raise InvalidInput(f"{field}: length n={n} exceeds this server's limit of {max_length} samples per signal")
    if batch > max_batch:
        raise InvalidInput(f"{field}: batch of {batch} exceeds this server's limit of {max_batch} signals per call")
    return ([batch, width, n] if len(shape) == 3 else [batch, n]), one_d


def check_finite(x: np.ndarray, one_d: bool, field: str = "signals") -> None:
    """InvalidInput naming the first NaN or Inf of signals x [batch, n] (or [batch, channels, n])."""
    # A NaN or Inf anywhere makes the sum non-finite, so one cheap reduction
    # clears almost every request; only then is the element-wise check needed
    # (a finite sum can also overflow, which that check tells apart).
    if not np.isfinite(x.sum()) and not np.isfinite(x).all():
        bad = np.argwhere(~np.isfinite(x))[0]
        where = f"sample {bad[1]}" if one_d else f"signal {bad[0]}, " + (f"channel {bad[1]}, " if x.ndim == 3 else "") \
            + f"sample {bad[-1]}"
        raise InvalidInput(f"{field}: {where} is {float(x[tuple(bad)])}; expected finite values (no NaN or Inf)")


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
        values = shared.array(t.shared_memory, want, "signals")
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
    sizes = [8 * x.size for _, x in tensors]
    if sum(sizes) > ref.byte_size:
        raise InvalidInput(f"output: shared-memory byte_size {ref.byte_size} is too small; the answer needs "
                           f"{sum(sizes)} bytes")
    offset = ref.offset
    for (t, x), size in zip(tensors, sizes):
        at = pb.SharedMemoryRef(region=ref.region, offset=offset, byte_size=size)
        np.copyto(shared.array(at, size, "output", writable=True), x.reshape(-1))
        t.shape[:] = x.shape[1:] if one_d else x.shape
        t.shared_memory.CopyFrom(at)
        offset += size
