"""The manifest that travels with every exported graph.

A frozen GraphDef says nothing about which tensors to feed and fetch or what
they mean; ``manifest.json`` beside ``graph.pb`` does, so no caller hard-codes
tensor names. The sha256 lets the server refuse a graph that does not match.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["FORMAT", "DEFAULT_FFT_MODEL", "GRAPH_FILE", "MANIFEST_FILE", "MAX_VERSION_DIGITS", "TensorInfo", "Manifest",
           "ManifestError", "sha256_file", "parse_version"]

FORMAT = "sigop.manifest/v1"
DEFAULT_FFT_MODEL = "fft"  # the FFT graph's name: spectrum-image classifiers render through it
GRAPH_FILE = "graph.pb"
MANIFEST_FILE = "manifest.json"
MAX_VERSION_DIGITS = 18  # a version fits an int64 (the wire's), whatever its digits


def parse_version(text: str) -> int | None:
    """A version as folder names, ``--version`` and the protocols spell it (1-18 ASCII digits), or None.

    ``str.isdigit`` alone also takes "²" (which ``int`` refuses) and "١" (which it reads as 1)."""
    if 0 < len(text) <= MAX_VERSION_DIGITS and text.isascii() and text.isdigit():
        return int(text)
    return None


class ManifestError(ValueError):
    """A manifest is missing, malformed, or does not match its graph."""


@dataclass(frozen=True)
class TensorInfo:
    """One input or output tensor of a graph."""

    tensor: str  # e.g. "magnitude:0"
    dtype: str  # numpy dtype name, e.g. "float64"
    shape: list[int | None]  # None for a dimension of any size
    description: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"tensor": self.tensor, "dtype": self.dtype, "shape": self.shape, "description": self.description}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "TensorInfo":
        return cls(tensor=d["tensor"], dtype=d["dtype"], shape=list(d["shape"]), description=d.get("description", ""))


@dataclass(frozen=True)
class Manifest:
    """What a graph is, how to call it, and the hash of the graph file."""

    name: str
    kind: str  # "fft" for now; "classifier" later
    inputs: dict[str, TensorInfo]
    outputs: dict[str, TensorInfo]
    sha256: str
    tensorflow_version: str
    graph: str = GRAPH_FILE
    version: int = 1
    details: dict[str, Any] = field(default_factory=dict)
    lite: dict[str, Any] = field(default_factory=dict)  # per precision: LiteRT copy's file, sha256, tensors (lite.py)

    @property
    def takes_waveforms(self) -> bool:
        """A classifier whose graph takes waveforms (front end inside), not images."""
        return self.kind == "classifier" and "signals" in self.inputs

    @property
    def draws_spectra(self) -> bool:
        """A classifier that draws signals as spectrum images, through an FFT graph, by its spectrum contract."""
        return self.kind == "classifier" and not self.takes_waveforms and "spectrum_contract" in self.details

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "name": self.name,
            "version": self.version,
            "kind": self.kind,
            "graph": self.graph,
            "sha256": self.sha256,
            "tensorflow_version": self.tensorflow_version,
            "inputs": {k: v.to_json() for k, v in self.inputs.items()},
            "outputs": {k: v.to_json() for k, v in self.outputs.items()},
            "details": self.details,
            **({"lite": self.lite} if self.lite else {}),
        }

    def write(self, folder: Path) -> Path:
        path = Path(folder) / MANIFEST_FILE
        partial = path.with_name(f".{MANIFEST_FILE}.partial")  # a reader sees the old manifest or the new, whole
        partial.write_text(json.dumps(self.to_json(), indent=2, sort_keys=False) + "\n")
        os.replace(partial, path)
        return path

    @classmethod
    def read(cls, folder: Path) -> "Manifest":
        """Read ``folder/manifest.json`` and check the graph file's hash."""
        path = Path(folder) / MANIFEST_FILE
        try:
            d = json.loads(path.read_text())
        except FileNotFoundError as e:
            raise ManifestError(f"{path}: no manifest") from e
        except json.JSONDecodeError as e:
            raise ManifestError(f"{path}: not valid JSON: {e}") from e
        if d.get("format") != FORMAT:
            raise ManifestError(f"{path}: format is {d.get('format')!r}, expected {FORMAT!r}")
        try:
            m = cls(
                name=d["name"],
                version=int(d.get("version", 1)),
                kind=d["kind"],
                graph=d.get("graph", GRAPH_FILE),
                sha256=d["sha256"],
                tensorflow_version=d.get("tensorflow_version", ""),
                inputs={k: TensorInfo.from_json(v) for k, v in d["inputs"].items()},
                outputs={k: TensorInfo.from_json(v) for k, v in d["outputs"].items()},
                details=d.get("details", {}),
                lite=d.get("lite", {}),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise ManifestError(f"{path}: missing or malformed field: {e}") from e
        graph_path = Path(folder) / m.graph
        if not graph_path.is_file():
            raise ManifestError(f"{path}: graph file {graph_path} is missing")
        actual = sha256_file(graph_path)
        if actual != m.sha256:
            raise ManifestError(f"{graph_path}: sha256 is {actual}, manifest says {m.sha256}")
        return m


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
