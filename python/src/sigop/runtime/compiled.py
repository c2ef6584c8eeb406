"""MiniRocket classifiers on compiled loops: how the server runs them by default.

A MiniRocket graph spends 18-34 ms on one 614-sample signal in TensorFlow or
LiteRT (hundreds of elementwise passes over [samples x 84] tensors); the
same features computed by the loops training uses (minirocket_kernels.py)
take ~1 ms. Training writes ``minirocket.npz`` beside graph.pb: the biases,
dilations and the ridge head the graph holds as constants; this runtime
computes features, standardisation, the head and softmax from it (a one-class
model's head: the distance from its training files' principal subspace), and
the unknown score, and answers as graph.pb does (test_minirocket and
test_unknown hold them to each other).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from ..manifest import Manifest, sha256_file
from ..unknown import UnknownScore

__all__ = ["CompiledMiniRocket", "COMPILED_FILE", "save_compiled", "compiled_record", "CompiledUnavailable"]

COMPILED_FILE = "minirocket.npz"
_ARRAYS = ("dilations", "features_per_dilation", "biases", "mean", "scale", "kernel", "bias")
_OPTIONAL = ("channel_mask",  # multichannel models: the channels each kernel/dilation pair reads
             "unknown_means", "unknown_precision",  # the unknown score's class statistics (unknown.py)
             "residual_basis")  # one-class models: the subspace [dimensions, features] (training/one_class.py)


class CompiledUnavailable(RuntimeError):
    """The model has no compiled form (it is not MiniRocket, or was exported before there was one)."""


def save_compiled(folder: Path, **arrays: np.ndarray) -> dict:
    """Write minirocket.npz; returns its record for the manifest's details."""
    missing = set(_ARRAYS) - set(arrays)
    if missing:
        raise ValueError(f"{COMPILED_FILE} needs {sorted(missing)}")
    path = Path(folder) / COMPILED_FILE
    np.savez(path, **{k: np.asarray(arrays[k]) for k in _ARRAYS + _OPTIONAL if arrays.get(k) is not None})
    return {"file": COMPILED_FILE, "sha256": sha256_file(path)}


def compiled_record(manifest: Manifest) -> dict | None:
    return (manifest.details.get("minirocket") or {}).get("compiled")


class CompiledMiniRocket:
    """A MiniRocket classifier from minirocket.npz, callable as a FrozenGraph is: model(x, ["probabilities"])."""

    runtime = "compiled"

    def __init__(self, folder: Path, manifest: Manifest | None = None):
        self.folder = Path(folder)
        self.manifest = manifest or Manifest.read(self.folder)
        record = compiled_record(self.manifest)
        if record is None:
            raise CompiledUnavailable(f"{self.folder} has no {COMPILED_FILE} (not a MiniRocket model, or exported "
                                      f"by an older sigop)")
        path = self.folder / record["file"]
        if not path.is_file() or sha256_file(path) != record["sha256"]:
            raise CompiledUnavailable(f"{path} is missing or does not match its manifest's sha256")
        with np.load(path) as z:
            self._arrays = {k: z[k] for k in _ARRAYS + _OPTIONAL if k in z}
        from . import minirocket_kernels  # numba: imported (and its kernels loaded) only for MiniRocket models

        self._features = minirocket_kernels.features
        record = self.manifest.details.get("unknown")
        self._unknown = UnknownScore.from_json(record, self._arrays) if record else None

    def __call__(self, x: np.ndarray, outputs: Sequence[str]) -> dict[str, np.ndarray]:
        known = {"probabilities"} | ({"unknown"} if self._unknown else set())
        if set(outputs) - known:
            raise KeyError(f"this compiled model answers only {sorted(known)}, not {sorted(set(outputs) - known)}")
        a = self._arrays
        f = self._features(x, a["dilations"], a["features_per_dilation"], a["biases"], a.get("channel_mask"))
        if "residual_basis" in a:  # one class: its single logit is the distance from the subspace
            z = f - a["mean"]
            logits = np.linalg.norm(z - (z @ a["residual_basis"].T) @ a["residual_basis"], axis=1, keepdims=True)
        else:
            logits = ((f - a["mean"]) * a["scale"]) @ a["kernel"] + a["bias"]
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        out = {"probabilities": (e / e.sum(axis=1, keepdims=True)).astype(np.float32)}
        if "unknown" in outputs:
            out["unknown"] = self._unknown.score(logits)
        return {k: out[k] for k in outputs}

    def close(self) -> None:
        self._arrays = {}
