"""What every protocol's signals are checked for: a shape within the server's limits, and finite values.

The Operator service's Float64Tensor (wire.py) and the Open Inference
Protocol's tensors (oip_plane.py) both pass here, so the same signal gets the
same error whichever way it came. No protobuf and no gRPC here.
"""

from __future__ import annotations

import numpy as np

from ..inputs import InvalidInput
from ..limits import clip_list

__all__ = ["signal_shape", "check_finite", "MAX_CHANNELS"]

MAX_CHANNELS = 1024  # a signal's axes; as many as a file may have (signals.MAX_FILE_CHANNELS)


def signal_shape(shape: list[int], *, max_length: int, max_batch: int, channels: bool = False,
                 field: str = "signals") -> tuple[list[int], bool]:
    """Check a tensor shape of signals ([n], [batch, n], with ``channels`` also [batch, channels, n]) against the
    server's limits: the 2-D (or 3-D) shape its values take, and whether the request was 1-D (so the answer can
    have the same rank). Raises InvalidInput naming what was expected. Every protocol's signals pass here."""
    ranks = (1, 2, 3) if channels else (1, 2)
    if len(shape) not in ranks:
        expected = "[n], [batch, n] or [batch, channels, n]" if channels else "[n] or [batch, n]"
        raise InvalidInput(f"{field}: shape {clip_list(shape)} has rank {len(shape)}; expected {expected}")
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
    with np.errstate(over="ignore"):  # a sum past float64 is not a client's error to print in the server's log
        total = x.sum()
    if not np.isfinite(total) and not np.isfinite(x).all():
        bad = np.argwhere(~np.isfinite(x))[0]
        where = f"sample {bad[1]}" if one_d else f"signal {bad[0]}, " + (f"channel {bad[1]}, " if x.ndim == 3 else "") \
            + f"sample {bad[-1]}"
        raise InvalidInput(f"{field}: {where} is {float(x[tuple(bad)])}; expected finite values (no NaN or Inf)")
