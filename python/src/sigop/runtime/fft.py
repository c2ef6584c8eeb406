"""The built-in FFT graph: what sigop's exporter writes to graphs/fft, made in this process when none is on disk.

The export is deterministic (``make check-generated`` holds the committed
graphs/fft to it), so a server whose graphs folder holds only the user's
classifiers still serves the FFT, and ``sigop evaluate`` and training's
export check draw spectrum images through the very graph the server runs.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from pathlib import Path

from ..limits import Limits
from ..manifest import DEFAULT_FFT_MODEL, Manifest
from ..plan import InputPlan
from .frozen import FrozenGraph

__all__ = ["builtin_fft_folder", "builtin_fft", "use_fft_folder", "standalone_plan"]

_folder: Path | None = None
_graph: FrozenGraph | None = None
_lock = threading.Lock()


def use_fft_folder(folder: Path) -> None:
    """Take the FFT from a folder ``sigop export-fft`` wrote (the image's committed graphs/fft) instead of exporting
    it at start-up. Its manifest and graph hash are checked here, so a wrong path fails before anything serves."""
    global _folder
    manifest = Manifest.read(Path(folder))
    if manifest.kind != "fft":
        raise ValueError(f"--fft-graph {folder}: its manifest is a {manifest.kind!r}, expected an 'fft' graph")
    with _lock:
        if _graph is not None and _folder != Path(folder):
            raise RuntimeError("the built-in FFT graph is already loaded from another folder")
        _folder = Path(folder)


def builtin_fft_folder() -> Path:
    """A folder holding the exporter's FFT graph and manifest, written once per process (removed at exit)."""
    global _folder
    with _lock:
        if _folder is None:
            from ..fftgraph import export_fft

            tmp = Path(tempfile.mkdtemp(prefix="sigop-fft-"))
            atexit.register(shutil.rmtree, tmp, ignore_errors=True)
            export_fft(tmp / DEFAULT_FFT_MODEL)
            _folder = tmp / DEFAULT_FFT_MODEL
        return _folder


def builtin_fft() -> FrozenGraph:
    """The built-in FFT graph, loaded once per process and shared (its callables are thread-safe)."""
    global _graph
    folder = builtin_fft_folder()
    with _lock:
        if _graph is None:
            _graph = FrozenGraph(folder)
        return _graph


def standalone_plan(manifest: Manifest, limits: Limits = Limits()) -> InputPlan:
    """A model's input plan outside a server (evaluate, training's checks, export-lite): spectrum images are drawn
    through the built-in FFT graph, the one a server serves by default."""
    if not manifest.draws_spectra:
        return InputPlan(manifest, limits)
    fft = builtin_fft()
    return InputPlan(manifest, limits, lambda rows: fft(rows, ["magnitude"])["magnitude"])
