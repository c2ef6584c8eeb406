"""Signal files in, 1-D float64 samples out: what users keep their recordings in.

.npy, .csv/.txt (numbers in any layout) and sound files; sound goes through
the one reader serving uses (audio.read_audio), so a .wav, .flac or .ogg of
the same sound gives the same samples.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .audio import read_audio

__all__ = ["SIGNAL_SUFFIXES", "SOUND_SUFFIXES", "SIGNALS_FILE", "load_signal", "signals_meta"]

SOUND_SUFFIXES = {".wav", ".flac", ".ogg"}
SIGNAL_SUFFIXES = {".npy", ".csv", ".txt"} | SOUND_SUFFIXES
SIGNALS_FILE = "signals.json"  # {"sample_rate": Hz} beside class folders of .npy/.csv/.txt signals


def signals_meta(folder: Path) -> dict:
    """The folder's signals.json ({"sample_rate": Hz, optionally "samples"}), or {} without one."""
    f = Path(folder) / SIGNALS_FILE
    return json.loads(f.read_text()) if f.is_file() else {}


def load_signal(path: Path) -> np.ndarray:
    """A 1-D float64 signal from .npy, .csv/.txt (numbers, any layout) or a sound file.

    Sound files (.wav, .flac, .ogg) go through the one reader serving uses too
    (audio.read_audio): samples in [-1, 1] whatever the container or sample
    width, channels averaged, so the same sound renders the same from any of them.
    """
    suffix = path.suffix.lower()
    if suffix == ".npy":
        x = np.load(path, allow_pickle=False)
    elif suffix in (".csv", ".txt"):
        text = path.read_text().replace(",", " ")
        x = np.array(text.split(), dtype=np.float64)
    elif suffix in SOUND_SUFFIXES:
        x = read_audio(path)[0]
    else:
        raise ValueError(f"{path}: not a signal file ({sorted(SIGNAL_SUFFIXES)})")
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    if x.size == 0 or not np.isfinite(x).all():
        raise ValueError(f"{path}: signal is empty or holds NaN/Inf")
    return x
