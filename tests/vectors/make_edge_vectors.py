#!/usr/bin/env python3
"""Write what the Go edge runtime is held to: a model folder's answers, as the server computes them, on real files.

For each file of DATA (class folders, as `sigop evaluate` reads them) it
writes the signal as the file holds it, and the answers of the server's
compiled runtime on the model input `sigop evaluate` makes of it (the same
input plan and runtime): probabilities, the unknown score, the top class; for
the first --features files, MiniRocket's features too, which the Go runtime
must match to the bit. Go reads OUT (.npz) beside the model folder:

  python tests/vectors/make_edge_vectors.py --model graphs/imu --data axes --out imu.npz
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from sigop.folders import files_in, labelled_files
from sigop.manifest import Manifest
from sigop.plan import InputPlan
from sigop.runtime import minirocket_kernels
from sigop.runtime.compiled import CompiledMiniRocket
from sigop.signals import read_signal, signals_meta


def vectors(model: Path, data: Path, features: int, limit: int = 0) -> dict[str, np.ndarray]:
    manifest = Manifest.read(model)
    plan = InputPlan(manifest)
    compiled = CompiledMiniRocket(model, manifest)
    labels = manifest.details["labels"]
    try:
        files, y = labelled_files(data, labels)
    except ValueError:  # a folder of another model's classes (a one-class model's test): every file, no truth
        files = files_in(data)
        y = np.full(len(files), -1)
    if limit:
        files, y = files[:limit], y[:limit]
    rate = signals_meta(data).get("sample_rate")
    raw = [read_signal(f, plan.channels).samples for f in files]  # [channels, n] as the file holds it
    longest = max(s.shape[1] for s in raw)
    signals = np.zeros((len(raw), plan.channels, longest))
    for i, s in enumerate(raw):
        signals[i, :, :s.shape[1]] = s
    x = plan.files(files, rate)
    out = compiled(x, ["probabilities"] + (["unknown"] if "unknown" in manifest.outputs else []))
    a = compiled._arrays
    return {
        "signals": signals, "lengths": np.array([s.shape[1] for s in raw], np.int64),
        "probabilities": out["probabilities"], "unknown": out.get("unknown", np.zeros(0, np.float32)),
        "top": out["probabilities"].argmax(axis=1).astype(np.int64), "truth": y.astype(np.int64),
        "features": minirocket_kernels.features(x[:features], a["dilations"], a["features_per_dilation"],
                                                a["biases"], a.get("channel_mask")),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, required=True, help="an exported MiniRocket version folder")
    p.add_argument("--data", type=Path, required=True, help="class folders of files")
    p.add_argument("--out", type=Path, required=True, help=".npz to write")
    p.add_argument("--features", type=int, default=16, help="files whose features are written too")
    p.add_argument("--limit", type=int, default=0, help="at most this many files (0: all)")
    args = p.parse_args()
    v = vectors(args.model, args.data, args.features, args.limit)
    np.savez_compressed(args.out, **v)
    print(f"{args.out}: {len(v['lengths'])} files, features of {len(v['features'])}")


if __name__ == "__main__":
    main()
