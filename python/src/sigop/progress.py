"""Progress bars that suit where they are written.

On a terminal, tqdm's bar redrawn in place. Into a file or a pipe (a CI log,
``sigop train ... 2> train.log``), a redrawn bar is one endless line of
carriage returns; there each update becomes a line of its own, at most one
every ``LOG_INTERVAL`` seconds per bar, plus the bar's last state."""

from __future__ import annotations

import sys

from tqdm import tqdm

__all__ = ["bar", "LOG_INTERVAL"]

LOG_INTERVAL = 30.0  # seconds between a bar's lines in a log


class _Lines:
    """A stream that turns tqdm's in-place redraws into whole lines."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text: str) -> None:
        line = text.replace("\r", "").rstrip("\n")
        if line.strip():
            self.stream.write(line + "\n")

    def flush(self) -> None:
        self.stream.flush()


def bar(iterable=None, **kwargs) -> tqdm:
    """``tqdm(iterable, **kwargs)`` on stderr: in place on a terminal, whole lines in a log."""
    stream = kwargs.pop("file", None) or sys.stderr
    if not (hasattr(stream, "isatty") and stream.isatty()):
        kwargs.setdefault("mininterval", LOG_INTERVAL)
        kwargs.setdefault("maxinterval", LOG_INTERVAL)
        kwargs.setdefault("ascii", True)
        kwargs["dynamic_ncols"], kwargs["ncols"] = False, kwargs.get("ncols", 100)
        stream = _Lines(stream)
    return tqdm(iterable, file=stream, **kwargs)
