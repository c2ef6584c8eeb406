"""What one call, and the whole server, may make the server hold in memory.

Every request's peak memory is bounded by these numbers, whatever its
content: inputs are decoded and run ``compute_batch`` at a time (4096 tiny
images cost what 32 do, in time, not memory); image and sound headers are
checked before anything is decoded; and a call reserves the bytes it will
decode from a server-wide budget before decoding them, so many concurrent
large calls get RESOURCE_EXHAUSTED instead of exhausting the machine.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass, fields

__all__ = ["Limits", "MemoryBudget", "OverBudget", "TooLarge", "StreamLimit", "StreamIdle", "clip", "clip_list", "MiB"]

MiB = 1 << 20


@dataclass(frozen=True)
class Limits:
    """Request limits; each breach is INVALID_ARGUMENT naming the limit (the budget: RESOURCE_EXHAUSTED)."""

    max_signal_length: int = 1 << 22  # samples per signal, or frames per sound file (from its header)
    max_batch: int = 4096  # inputs per call
    max_image_pixels: int = 1 << 24  # per image, from its header (4096 x 4096); PIL's own limit is ~179 M
    compute_batch: int = 32  # inputs decoded and run per graph call
    inflight_bytes: int = 1024 * MiB  # decoded bytes all calls may hold at once
    max_streams: int = 0  # ClassifyStream calls open at once (0: half the server's workers); each holds a worker
    stream_first_message_seconds: float = 10.0  # a stream's config must arrive within this of its opening
    stream_idle_seconds: float = 60.0  # and each later message within this of the server asking for it

    def check(self, batching) -> None:
        """Refuse settings that contradict each other, before the server starts."""
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name.endswith("_seconds"):
                if not 0 < value < float("inf"):
                    raise ValueError(f"{f.name} must be a positive number of seconds")
                continue
            least = 0 if f.name == "max_streams" else 1  # max_streams 0: the server's default
            if value < least:
                raise ValueError(f"{f.name} must be at least {least}")
        if batching.enabled and self.compute_batch > batching.max_queue:
            raise ValueError(f"compute batch {self.compute_batch} exceeds the batch queue of {batching.max_queue}: "
                             f"a call's sub-batch could never be queued")


class StreamLimit(Exception):
    """As many streams are open as the server allows (RESOURCE_EXHAUSTED: retry later)."""


class StreamIdle(Exception):
    """A stream sent nothing for longer than the server waits (DEADLINE_EXCEEDED); its slot is free again."""


class OverBudget(Exception):
    """The server holds too much decoded data right now (RESOURCE_EXHAUSTED: retry later)."""


class TooLarge(Exception):
    """One call needs more than the whole budget (INVALID_ARGUMENT: it can never succeed)."""


class MemoryBudget:
    """Bytes of decoded input in flight across all calls; reserve before allocating."""

    def __init__(self, limit: int):
        self.limit = limit
        self._used = 0
        self._lock = threading.Lock()

    @contextmanager
    def reserve(self, nbytes: int, what: str):
        """Hold ``nbytes`` for the block; raises TooLarge or OverBudget instead of waiting."""
        if nbytes > self.limit:
            raise TooLarge(f"{what} needs {nbytes / MiB:.0f} MiB of decoded data; this server allows "
                           f"{self.limit / MiB:.0f} MiB in flight (--max-inflight-mib): send fewer or smaller inputs")
        with self._lock:
            if self._used + nbytes > self.limit:
                raise OverBudget(f"the server holds {self._used / MiB:.0f} of {self.limit / MiB:.0f} MiB of decoded "
                                 f"inputs; {what} needs {nbytes / MiB:.0f} MiB more: retry later")
            self._used += nbytes
        try:
            yield
        finally:
            with self._lock:
                self._used -= nbytes


def clip(text: str, limit: int = 64) -> str:
    """A client's string, quoted, cut to ``limit`` characters for messages and logs."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}… ({len(text):,} characters)"


def clip_list(items, limit: int = 8, each=str) -> str:
    """A client's list (a shape, tensor names) for messages: its first ``limit`` items, each by ``each``, in
    brackets, then how many there are when that is more."""
    items = list(items)
    shown = ", ".join(each(i) for i in items[:limit])
    return f"[{shown}]" if len(items) <= limit else f"[{shown}, …] ({len(items):,} in all)"
