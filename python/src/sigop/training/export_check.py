"""The last steps of training: the exported graph, fed through its input plan (the path the
server takes from a file's bytes, spectra drawn by the FFT graph), must give what the trainer measured on the same files;
then its LiteRT copies are converted and checked on files fed the same way.

A MiniRocket export's compiled form (minirocket.npz) is checked the same way.
It catches an export that drifted from training: a renamed tensor, a front end
computed differently, a file read one way in training and another in serving.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..progress import bar as progress_bar

from ..lite_export import export_lite, spread
from ..manifest import Manifest
from ..runtime.compiled import CompiledMiniRocket, compiled_record
from ..runtime.fft import standalone_plan
from ..runtime.frozen import FrozenGraph
from .dataset import Dataset

__all__ = ["ExportMismatch", "check_export", "convert_to_lite"]

log = logging.getLogger(__name__)


class ExportMismatch(RuntimeError):
    """The exported graph does not reproduce the trained model."""


def check_export(out: Path, ds: Dataset, probabilities: np.ndarray, *, rate: float | None = None, files: int = 8,
                 tolerance: float = 1e-3, unknown: np.ndarray | None = None) -> dict:
    """Compare the export with ``probabilities`` (one row per ``ds.items``) on files spread over the dataset, and
    its unknown scores with ``unknown`` (relative to the larger of the score and 1)."""
    graph = FrozenGraph(out)
    plan = standalone_plan(graph.manifest)
    runs = [graph] + ([CompiledMiniRocket(out, graph.manifest)] if compiled_record(graph.manifest) else [])
    try:
        worst, where, picks = 0.0, "", spread(range(len(ds.items)), files)
        for i in picks:
            x = plan.files([ds.items[i].path], rate)
            for run in runs:
                answers = run(x, ["probabilities"] + (["unknown"] if unknown is not None else []))
                diff = float(np.abs(answers["probabilities"][0] - probabilities[i]).max())
                if unknown is not None:
                    diff = max(diff, float(abs(answers["unknown"][0] - unknown[i]) / max(1.0, abs(unknown[i]))))
                if diff > worst:
                    worst, where = diff, f"{ds.name_of(ds.items[i])} ({run.runtime})"
    finally:
        for run in runs:
            run.close()
    if worst > tolerance:
        raise ExportMismatch(f"the exported graph in {out}, fed {where} as the server would feed it, differs from the "
                             f"trained model by {worst:.3g} (tolerance {tolerance:g})")
    log.info("export check: %d files through the input plan and the frozen graph%s, largest difference %.2g",
             len(picks), " and the compiled runtime" if len(runs) > 1 else "", worst)
    return {"files": int(len(picks)), "max_abs_diff": worst, "runtimes": [r.runtime for r in runs]}


def convert_to_lite(out: Path, ds: Dataset, *, quantize: str = "", rate: float | None = None, probe_files: int = 32,
                    calibration_files: int = 200, progress: bool = True) -> dict:
    """model.tflite (and model.int8.tflite), checked on ``probe_files`` files spread over the dataset and
    calibrated on up to ``calibration_files`` training files, every one fed as the server would feed it."""
    plan = standalone_plan(Manifest.read(out))
    probe = plan.files([i.path for i in spread(ds.items, probe_files)], rate)
    calibration = list(plan.files(progress_bar([i.path for i in spread(ds.split("train"), calibration_files)],
                                       desc="int8 calibration", unit="file", disable=not progress),
                                  rate)) if quantize else []
    return export_lite(out, probe, calibration, quantize=quantize)
