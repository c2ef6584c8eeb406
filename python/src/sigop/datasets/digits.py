"""Spoken digits from espeak-ng: development audio anyone can regenerate.

Debian's ``espeak-ng`` speaks "zero" .. "nine" in English accents (en-us,
en-gb-scotland, …) times voice variants (m1 … f5, croak, klatt …); a speaker
is one accent+variant pair. Each take draws a speed and a pitch. Files are
``<out>/<digit>/<accent>+<variant>_<take>.wav`` (22,050 Hz mono 16-bit, as
espeak-ng writes), so ``--group '^[^_]+'`` splits by speaker. For tests and
the demo only: the trainer knows nothing of it.
"""

from __future__ import annotations

import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from ..progress import bar as progress_bar

__all__ = ["WORDS", "ACCENTS", "VARIANTS", "SPEAKER_GROUP", "speakers", "make_digits"]

WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029", "en-us-nyc")
VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5", "croak", "klatt")
SPEAKER_GROUP = r"^[^_]+"  # the split pattern that keeps each speaker in one split


def speakers(accents=ACCENTS, variants=VARIANTS) -> list[str]:
    return [f"{a}+{v}" for a in accents for v in variants]


def make_digits(out: Path, *, accents=ACCENTS, variants=VARIANTS, takes: int = 2, seed: int = 0,
                progress: bool = True, jobs: int = 4) -> int:
    """Write the dataset; returns the number of files."""
    binary = shutil.which("espeak-ng")
    if binary is None:
        raise FileNotFoundError("espeak-ng is not installed (Debian: apt-get install espeak-ng; `make setup` does it)")
    rng = np.random.default_rng(seed)
    jobs_list = []
    for digit, word in enumerate(WORDS):
        (Path(out) / str(digit)).mkdir(parents=True, exist_ok=True)
        for speaker in speakers(accents, variants):
            for take in range(takes):
                speed, pitch = int(rng.integers(120, 201)), int(rng.integers(25, 76))
                path = Path(out) / str(digit) / f"{speaker}_{take}.wav"
                jobs_list.append((path, [binary, "-v", speaker, "-s", str(speed), "-p", str(pitch), "-w", str(path), word]))

    def run(job: tuple[Path, list[str]]) -> None:
        path, cmd = job
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0 or not path.is_file():
            raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip()}")

    with ThreadPoolExecutor(jobs) as pool:
        list(progress_bar(pool.map(run, jobs_list), total=len(jobs_list), desc="espeak-ng", unit="wav", disable=not progress))
    return len(jobs_list)
