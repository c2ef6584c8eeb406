"""Training windows for a model that watches a stream, made from clips of single events.

A model trained on clips that each start with their sound sees, in a stream,
windows it never saw: the sound anywhere in the window, half a sound at
either edge, and nothing at all. Unprepared, it labels all of them
confidently as some class (the spoken-digits model turned five digits and
silence into 28 events). ``make_watch_set`` writes, from folders of clips:

* each clip, trimmed of its quiet ends, at ``placements`` random positions
  inside a window of the model's length: the clip's class;
* ``partials`` windows holding 60-95 % of a clip at the window's start or
  end (the clip's class: the windows at the edges of an event's run), and
  as many holding only 10-40 % (class ``none``);
* background windows (noise at a random low level, some pure silence, and
  cuts of any ``background`` recordings): class ``none``.

A model trained on this says ``none`` between events, and ClassifyStream
reports a class named ``none`` as no event. Every window keeps its clip's
file stem as a prefix, so ``--group`` splits by speaker or device as before.
Clips of several channels (a two-microphone recorder, a vibration sensor's
axes) keep them: every window is cut from all channels at once, its noise
floor drawn on each, and written as a WAV of as many channels; clips whose
channel counts differ are averaged to one, as training averages such sound.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile
from .progress import bar as progress_bar

from .audio import fit_length, read_audio, read_header
from .signals import SOUND_SUFFIXES

__all__ = ["NONE", "trim", "make_watch_set"]

NONE = "none"  # the class ClassifyStream reads as "no event"


def trim(x: np.ndarray, floor: float = 1e-3) -> np.ndarray:
    """x ([n] or [channels, n]) without its leading and trailing samples quieter (on every channel) than floor × its
    peak."""
    level = np.abs(x).max(axis=0) if x.ndim == 2 else np.abs(x)
    loud = np.flatnonzero(level > floor * level.max()) if level.size else []  # silence: nothing is above 0
    return x[..., loud[0]:loud[-1] + 1] if len(loud) else x[..., :0]


def _clips(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in SOUND_SUFFIXES)


def make_watch_set(data: Path, out: Path, *, window: float = 1.0, placements: int = 2, partials: int = 2,
                   background: Path | None = None, background_windows: int = 80,
                   noise_db: tuple[float, float] = (-75.0, -50.0), seed: int = 0, progress: bool = True) -> dict:
    """Write ``out/<class>/*.wav`` and ``out/none/*.wav``; returns the count of windows per class."""
    data, out = Path(data), Path(out)
    classes = sorted(d.name for d in data.iterdir() if d.is_dir())
    if not classes:
        raise FileNotFoundError(f"{data}: no class folders (expected {data}/<class>/<clip>.wav)")
    rng = np.random.default_rng(seed)
    counts = {c: 0 for c in classes} | {NONE: 0}
    rates = []
    jobs = [(c, p) for c in classes for p in _clips(data / c)]
    widths = {read_header(p).channels for _, p in jobs}
    channels = widths.pop() if len(widths) == 1 else 1  # mixed counts: averaged, as training averages them

    def write(label: str, name: str, x: np.ndarray, rate: int) -> None:
        (out / label).mkdir(parents=True, exist_ok=True)
        peak = max(1.0, float(np.abs(x).max()))  # a clip at full scale plus noise must not clip
        soundfile.write(out / label / f"{name}.wav", (x / peak).astype(np.float32).T, rate, subtype="PCM_16")
        counts[label] += 1

    def floor(n: int) -> np.ndarray:
        return 10 ** (rng.uniform(*noise_db) / 20) * rng.standard_normal((channels, n))

    def read(path: Path) -> tuple[np.ndarray, int]:
        x, rate = read_audio(path, mono=channels == 1)
        if channels > 1 and x.shape[0] != channels:
            raise ValueError(f"{path}: {x.shape[0]} channels; the clips have {channels}")
        return np.atleast_2d(x).astype(np.float64), rate

    for label, path in progress_bar(jobs, desc="watch windows", unit="clip", disable=not progress):
        x, rate = read(path)
        rates.append(rate)
        n = int(round(window * rate))
        x = trim(x)[:, :n]
        size = x.shape[1]
        if size == 0:
            continue
        for k in range(placements):
            w, at = floor(n), int(rng.integers(0, n - size + 1))
            w[:, at:at + size] += x
            write(label, f"{path.stem}-p{k}", w, rate)
        if label == NONE:
            continue  # background clips placed anywhere are already "none"
        for k in range(partials):
            # Most of the clip is still its class (the windows at a run's edges); a small part is none.
            for kind, low, high, as_label in (("c", 0.6, 0.95, label), ("q", 0.1, 0.4, NONE)):
                w, keep = floor(n), max(1, int(size * rng.uniform(low, high)))
                if k % 2:
                    w[:, :keep] += x[:, size - keep:]  # the sound's end at the window's start
                else:
                    w[:, n - keep:] += x[:, :keep]  # its start at the window's end
                write(as_label, f"{path.stem}-{label}-{kind}{k}" if as_label == NONE else f"{path.stem}-{kind}{k}",
                      w, rate)
    rate = int(np.median(rates)) if rates else 16000
    n = int(round(window * rate))
    for i in range(background_windows):
        write(NONE, f"background-{i:04d}", floor(n) * (0.0 if i % 5 == 0 else 1.0), rate)
    for path in _clips(background) if background else []:
        x, r = read(path)
        m = int(round(window * r))
        for k, at in enumerate(range(0, max(1, x.shape[1] - m + 1), m)):
            write(NONE, f"{path.stem}-b{k}", fit_length(x[:, at:at + m], m), r)
    return counts
