#!/usr/bin/env python3
"""How waveform classifiers hold up in noise: each model under a graphs folder
that takes waveforms, on a folder of <label>/*.wav files, clean and with white
noise added at several SNRs (in-process, through the exported frozen graphs)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from sigop.audio import prepare, read_audio  # noqa: E402
from sigop.training.audio_augment import add_noise  # noqa: E402
from sigop.runtime.frozen import FrozenGraph  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--graphs", required=True, help="folder of exported models; those taking waveforms are tested")
    ap.add_argument("--wavs", required=True, help="folder of <label>/*.wav")
    ap.add_argument("--snr-db", type=float, nargs="+", default=[20, 10, 0])
    args = ap.parse_args()

    paths = sorted(Path(args.wavs).glob("*/*.wav"))
    truth = [p.parent.name for p in paths]
    clean = [read_audio(p) for p in paths]
    print(f"{len(paths)} files from {args.wavs}; white noise at each SNR (seeded)")
    print(f"{'model':<28}" + f"{'clean':>8}" + "".join(f"{f'{s:g} dB':>8}" for s in args.snr_db))
    for folder in sorted(p for p in Path(args.graphs).iterdir() if (p / "manifest.json").is_file()):
        graph = FrozenGraph(folder)
        if not graph.manifest.takes_waveforms:
            continue
        fe, labels = graph.manifest.details["front_end"], graph.manifest.details["labels"]
        row = []
        for snr in [None, *args.snr_db]:
            rng = np.random.default_rng(0)
            x = np.stack([prepare(w if snr is None else add_noise(w, snr, rng), r, fe["sample_rate"], fe["samples"])
                          for w, r in clean])
            probs = np.concatenate([graph(x[i:i + 50], ["probabilities"])["probabilities"] for i in range(0, len(x), 50)])
            row.append(np.mean([labels[k] == t for k, t in zip(probs.argmax(axis=1), truth)]))
        graph.close()
        print(f"{folder.name:<28}" + "".join(f"{a:>8.1%}" for a in row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
