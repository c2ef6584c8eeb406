#!/usr/bin/env python3
"""Write the shared test vectors: FFT (tests/vectors/fft.json) and the
article's class structure (tests/vectors/article.json).

Inputs are sigop.testsignal.noise(n, seed), which Go's signal.Noise
reproduces bit for bit. Small cases carry every value; large ones (over
MAX_FULL samples) carry a sample of bins and the spectrum's energy, so the
file stays small while Python, Go and the end-to-end test check the same
numbers. Run `make vectors` after changing a case; never edit the JSON.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from sigop.datasets.article import CLASSES, Params
from sigop.datasets.testsignal import noise

MAX_FULL = 4097
SAMPLED_BINS = 64
CASES = [  # name, batch, n, seed
    ("n1", 1, 1, 1),
    ("n2", 1, 2, 2),
    ("n1000", 1, 1000, 3),
    ("n1024", 1, 1024, 4),
    ("n4097", 1, 4097, 5),
    ("n65536", 1, 65536, 6),
    ("n1048576", 1, 1 << 20, 7),
    ("batch3x1000", 3, 1000, 8),
]
TOLERANCE = {
    "relative": 1e-9,
    "definition": "for each part (magnitude, real, imag): max_k |got[k] - want[k]| / max_k |want_magnitude[k]| <= relative",
}


def case(name: str, batch: int, n: int, seed: int) -> dict:
    # Row r of a batch is noise(n, seed + r).
    x = np.stack([noise(n, seed + r) for r in range(batch)])
    spectrum = np.fft.rfft(x, axis=1)
    out = {"name": name, "batch": batch, "n": n, "seed": seed, "bins": n // 2 + 1,
           "energy": [float(e) for e in np.sum(np.abs(spectrum) ** 2, axis=1)]}
    if n <= MAX_FULL:
        out["input"] = x.tolist()
        idx = np.arange(n // 2 + 1)
    else:
        rng = np.random.default_rng(seed)
        idx = np.unique(np.concatenate([[0, 1, n // 4, n // 2], rng.integers(0, n // 2 + 1, SAMPLED_BINS)]))
    out["indices"] = idx.tolist()
    out["magnitude"] = np.abs(spectrum[:, idx]).tolist()
    out["real"] = spectrum[:, idx].real.tolist()
    out["imag"] = spectrum[:, idx].imag.tolist()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("fft.json"))
    args = ap.parse_args()
    doc = {
        "description": "One-sided unnormalised FFT (numpy.fft.rfft) of sigop.testsignal.noise / Go signal.Noise inputs; "
        "row r of a case is noise(n, seed + r). Cases with 'input' list every bin in 'indices'.",
        "numpy_version": np.__version__,
        "tolerance": TOLERANCE,
        "cases": [case(*c) for c in CASES],
    }
    args.out.write_text(json.dumps(doc) + "\n")
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KiB, {len(CASES)} cases)")
    p = Params()
    article = {
        "description": "The article's device classes and generator parameters, identical in Go (signal package) and "
        "Python (sigop.article); the random streams differ, so equal seeds give the same class structure, not "
        "the same samples.",
        "classes": [{"name": c.name, "cycles": list(c.cycles)} for c in CLASSES],
        "params": {"n": p.n, "amplitudes": list(p.amplitudes), "cycle_jitter": p.cycle_jitter,
                   "frequency_noise": p.frequency_noise, "amplitude_noise": p.amplitude_noise,
                   "sample_noise": p.sample_noise},
    }
    path = args.out.with_name("article.json")
    path.write_text(json.dumps(article, indent=2) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
