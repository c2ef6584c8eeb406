"""Signal files in, float64 samples [channels, samples] out: what users keep their recordings in.

- ``.npy``: 1-D is one channel; 2-D is one multichannel signal, channels
  first (``[3, 128]``: three axes of 128 samples; ``[12, 7]``: twelve
  coefficients over seven frames). A single column ``[n, 1]`` is one channel.
  Where the channel count is known (the model's, or signals.json's
  "channels"), an array ``[n, channels]`` is refused as ``[samples,
  channels]`` (save ``x.T``); where it is not, so is one with at least four
  times as many rows as columns (``[128, 6]``), the shape of a logger's table.
- ``.csv``/``.txt``: a header row names one channel per column, as sensor
  loggers and Edge Impulse write them; a time column (``time``, ``timestamp``,
  ``t``, with a unit in its name or not) is dropped and gives the file's
  sample rate. Without a header: one row, or one number per row, is one
  channel; rows of k numbers are k channels.
- sound files go through the one reader serving uses (audio.read_audio), so
  a .wav, .flac or .ogg of the same sound gives the same samples, with all
  their channels.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .audio import read_audio

__all__ = ["SIGNAL_SUFFIXES", "SOUND_SUFFIXES", "SIGNALS_FILE", "Signal", "read_signal", "load_signal",
           "signals_meta", "parse_table", "MAX_FILE_CHANNELS", "declared_channels"]

log = logging.getLogger(__name__)
_WARNED: set[str] = set()

SOUND_SUFFIXES = {".wav", ".flac", ".ogg"}
SIGNAL_SUFFIXES = {".npy", ".csv", ".txt"} | SOUND_SUFFIXES
SIGNALS_FILE = "signals.json"  # {"sample_rate": Hz, "channels": [names]} beside class folders of signals
MAX_FILE_CHANNELS = 1024  # more than any sensor has: past it, a file is a table of samples saved the wrong way round

# Time columns, and the seconds one unit of theirs is: a unit in the name wins; a bare "timestamp" is
# milliseconds (Edge Impulse's CSV, most loggers' epoch times), a bare "time" or "t" seconds.
_TIME_NAME = re.compile(r"^(time(stamp)?|t)\b\s*[\[(_ ]*\s*(?P<unit>s|sec|seconds|ms|millis|milliseconds|us|µs|micros)?"
                        r"\s*[\])]*$", re.IGNORECASE)
_UNITS = {"s": 1.0, "sec": 1.0, "seconds": 1.0, "ms": 1e-3, "millis": 1e-3, "milliseconds": 1e-3, "us": 1e-6,
          "µs": 1e-6, "micros": 1e-6}


@dataclass(frozen=True)
class Signal:
    """One recording: float64 samples [channels, n], the rate its file states (sound files, a CSV time column)
    and the channel names its file gives (a CSV header)."""

    samples: np.ndarray
    rate: float | None = None
    names: tuple[str, ...] = ()

    @property
    def channels(self) -> int:
        return self.samples.shape[0]


def declared_channels(meta: dict) -> int | None:
    """The channel count a signals.json states ("channels": [names] or a count), if it does."""
    named = meta.get("channels")
    return None if named is None else (len(named) if isinstance(named, list) else int(named))


def signals_meta(folder: Path) -> dict:
    """The folder's signals.json ({"sample_rate": Hz, optionally "samples", "channels"}), or {} without one."""
    f = Path(folder) / SIGNALS_FILE
    return json.loads(f.read_text()) if f.is_file() else {}


def read_signal(path: Path, channels: int | None = None) -> Signal:
    """A signal file as [channels, n] float64, with what the file says about its rate and channels; ``channels``:
    the count expected, if known (it tells a .npy's [channels, n] from [n, channels])."""
    path = Path(path)
    suffix = path.suffix.lower()
    rate, names = None, ()
    try:
        if suffix == ".npy":
            x = _channels_first(np.load(path, allow_pickle=False), channels)
        elif suffix in (".csv", ".txt"):
            x, rate, names = parse_table(path.read_text())
        elif suffix in SOUND_SUFFIXES:
            x, rate = read_audio(path, mono=False)
        else:
            raise ValueError(f"not a signal file ({sorted(SIGNAL_SUFFIXES)})")
        x = np.asarray(x, dtype=np.float64)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
    if x.size == 0 or not np.isfinite(x).all():
        raise ValueError(f"{path}: signal is empty or holds NaN/Inf")
    return Signal(x, float(rate) if rate else None, tuple(names))


def load_signal(path: Path) -> np.ndarray:
    """A one-channel signal file as 1-D float64 (sound files: channels averaged, as a mono model hears them);
    a multichannel .npy or CSV is refused, naming its channels."""
    path = Path(path)
    if path.suffix.lower() in SOUND_SUFFIXES:
        return read_signal(path).samples.mean(axis=0)
    s = read_signal(path)
    if s.channels != 1:
        named = f" {list(s.names)}" if s.names else ""
        raise ValueError(f"{path}: holds {s.channels} channels{named}; this takes one-channel signals")
    return s.samples[0]


def _channels_first(x: np.ndarray, channels: int | None = None) -> np.ndarray:
    if x.ndim == 1:
        return x[None]
    if x.ndim != 2:
        raise ValueError(f"array of shape {list(x.shape)}; expected [samples] or [channels, samples]")
    rows, cols = x.shape
    if cols == 1 and channels in (None, 1):
        return x.T  # a column: one channel
    if channels is not None and rows != channels and cols == channels:
        raise ValueError(f"array of shape {list(x.shape)} looks like [samples, channels]: {channels} channels are "
                         f"expected; sigop reads [channels, samples] (save x.T)")
    if (channels is None and rows >= 4 * cols) or rows > MAX_FILE_CHANNELS:
        raise ValueError(f"array of shape {list(x.shape)} has many more rows than columns: it looks like [samples, "
                         f"channels]; sigop reads [channels, samples] (save x.T, or name the channels in "
                         f"{SIGNALS_FILE})")
    return x


def _number(field: str) -> bool:
    try:
        float(field)
        return True
    except ValueError:
        return False


def parse_table(text: str) -> tuple[np.ndarray, float | None, tuple[str, ...]]:
    """CSV/TXT text -> (samples [channels, n], rate from a time column or None, channel names)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    sep = next((c for c in ",;\t" if lines and c in lines[0]), None)  # else whitespace
    rows = [[f.strip() for f in line.split(sep)] for line in lines]
    if not rows:
        return np.empty((1, 0)), None, ()
    header: list[str] = []
    if not all(_number(f) for f in rows[0]):
        header, rows = [f.strip().strip('"') for f in rows[0]], rows[1:]
        if not rows:
            raise ValueError(f"a header ({', '.join(header)}) and no samples")
    widths = {len(r) for r in rows}
    if len(widths) != 1:
        raise ValueError(f"rows of {sorted(widths)} values; every row needs the same number (one per channel)")
    try:
        table = np.array(rows, dtype=np.float64)
    except ValueError as e:
        raise ValueError(f"{str(e).capitalize()} (a header, if any, must be the first row)") from None
    if header and len(header) != table.shape[1]:
        raise ValueError(f"header names {len(header)} columns, rows hold {table.shape[1]}")
    if not header:  # one row, or one value per row: one channel; else one channel per column
        if table.shape[0] > 2 and table.shape[1] > 1 and _looks_like_time(table[:, 0]) and not _WARNED:
            _WARNED.add("time")  # once per process, not once per file of a folder
            log.warning("a headerless table's first column rises by a constant step, like a time column; it is read "
                        "as a channel: give the file a header (timestamp,x,y,...) to take it as the sample rate")
        return (table.reshape(1, -1) if 1 in table.shape else table.T), None, ()
    rate, keep = None, list(range(len(header)))
    for j, name in enumerate(header):
        m = _TIME_NAME.match(name)
        if m:
            rate = _rate_of(table[:, j], _UNITS[(m.group("unit") or ("ms" if "stamp" in name.lower() else "s")).lower()],
                            name)
            keep.remove(j)
            break
    if not keep:
        raise ValueError(f"only a time column ({header[0]}); no channel to read")
    return table[:, keep].T, rate, tuple(header[j] for j in keep)


def _looks_like_time(column: np.ndarray) -> bool:
    steps = np.diff(column)
    return bool((steps > 0).all() and np.ptp(steps) <= 0.01 * np.median(steps))


def _rate_of(t: np.ndarray, unit: float, name: str) -> float | None:
    """Samples per second from a time column: 1 / the median step. One row has no rate."""
    if len(t) < 2:
        return None
    steps = np.diff(t) * unit
    if not (steps > 0).all():
        raise ValueError(f"time column {name!r} does not increase row by row; expected one row per sample in order")
    return float(f"{1.0 / np.median(steps):.9g}")  # 1/0.01 s is 100 Hz, not 99.99999999999991
