"""Loading a model folder to run, as ``--runtime`` asks, and warming it up.

``tf`` always runs graph.pb; ``lite`` runs the LiteRT copy or fails to load;
``compiled`` runs a MiniRocket classifier on compiled loops (compiled.py) or
fails to load; ``auto`` runs MiniRocket compiled, other classifiers on their
LiteRT copy when there is a usable one, and says in the note why not
otherwise. The FFT is float64 and always runs on TensorFlow.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..manifest import Manifest
from ..plan import InputPlan
from . import RUNTIMES
from .compiled import CompiledMiniRocket, compiled_record
from .frozen import FrozenGraph
from .litert import LiteModel, LiteUnavailable

__all__ = ["Model", "RUNTIMES", "load_model", "warm_up"]

log = logging.getLogger(__name__)

Model = FrozenGraph | LiteModel | CompiledMiniRocket  # each answers model(x, outputs) -> {name: array}


def load_model(folder: Path, *, runtime: str = "auto", precision: str = "float32", intra_op_threads: int = 0,
               inter_op_threads: int = 0) -> tuple[Model, str]:
    """The model to run from ``folder`` and a note for its status: why it is not on the LiteRT copy asked for."""
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime {runtime!r} is not one of {RUNTIMES}")
    manifest = Manifest.read(folder)
    notes: list[str] = []
    if manifest.kind == "classifier" and (runtime == "compiled" or (runtime == "auto" and compiled_record(manifest))):
        try:
            return CompiledMiniRocket(folder, manifest), ""
        except Exception as e:  # a missing or altered minirocket.npz: the graph still answers
            if runtime == "compiled":
                raise
            notes.append(f"not compiled: {e}")
            log.warning("%s: %s", folder, notes[-1])
    if manifest.kind == "classifier" and runtime != "tf":
        # auto steps down: int8, float32, then the graph; lite serves the precision asked for or nothing
        for p in [precision] + (["float32"] if runtime == "auto" and precision != "float32" else []):
            try:
                return LiteModel(folder, manifest, p, intra_op_threads), "; ".join(notes)
            except Exception as e:  # unavailable, or a file LiteRT cannot load: the graph still can
                if runtime == "lite":
                    raise
                why = str(e) if isinstance(e, LiteUnavailable) else f"the LiteRT model did not load: {type(e).__name__}: {e}"
                notes.append(f"not on LiteRT {p}: {why}")
                log.log(logging.INFO if isinstance(e, LiteUnavailable) else logging.WARNING, "%s: %s", folder, notes[-1])
    return (FrozenGraph(folder, intra_op_threads=intra_op_threads, inter_op_threads=inter_op_threads, manifest=manifest),
            "; ".join(notes))


def warm_up(model: Model, batch: int = 1) -> None:
    """Run a graph once per call shape a server uses: the first call is several times slower.

    Classifiers run a full ``batch`` too, so the memory its activations take is
    held from the start: what a server holds when it turns SERVING is what it
    holds under load."""
    if model.manifest.kind == "fft":
        x = np.zeros((2, 64))  # the FFT takes any length
        for outputs in (("magnitude",), ("real", "imag"), ("magnitude", "real", "imag")):
            model(x, outputs)
    elif model.manifest.kind == "classifier":
        for n in sorted({1, batch}):
            model(InputPlan(model.manifest).blank(n), ["probabilities"])
