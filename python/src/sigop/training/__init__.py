"""Training: datasets of class folders, augmentation, backbones and networks, and the
trainers that export classifiers. ``train(cfg)`` picks the trainer the front end needs."""

from __future__ import annotations

import json
from pathlib import Path

from .config import TrainConfig

__all__ = ["train", "TrainConfig"]


def train(cfg: TrainConfig) -> dict:
    """Train, evaluate and export to cfg.final_dir (cfg.out, or cfg.out/<version>); returns the report's metrics.

    Spectrum images go to the transfer-learning trainer (spectra.py), waveform
    front ends to the one that puts the front end inside the graph (waveforms.py).
    A folder of one class (or ``--one-class``) trains an anomaly model
    (one_class.py). ``--model auto`` first chooses the model by cross-validation (auto.py), or on
    a folder of sound files by one hold-out while training (sound_auto.py), and
    records every candidate's score in the report. Everything is written into a
    staging folder renamed into place when whole (publish.py): a polling server
    never loads half an export. TensorFlow is imported here, not when this package is.
    """
    import shutil
    from dataclasses import replace

    from .publish import check_target, publish, staging_for

    final = cfg.final_dir
    check_target(final, cfg.version)
    staging = staging_for(final)
    shutil.rmtree(staging, ignore_errors=True)
    cfg = replace(cfg, staging=staging)
    try:
        metrics = _train(cfg)
        publish(staging, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    metrics["exported_to"] = str(final)
    return metrics


def _train(cfg: TrainConfig) -> dict:
    selection = None
    one_class = cfg.one_class or _one_class_folder(cfg.data)
    if cfg.model == "auto" and not one_class:
        from .auto import choose

        cfg, selection = choose(cfg)
    if one_class:
        from .one_class import train as trainer
    elif cfg.model == "auto":  # a folder of sound files: chosen while training (sound_auto.py)
        from .sound_auto import train as trainer
    elif cfg.takes_waveforms:
        from .waveforms import train as trainer
    else:
        from .spectra import train as trainer
    metrics = trainer(cfg)
    if selection is not None:
        metrics["auto"] = selection
    later = {k: metrics[k] for k in ("auto", "lite", "unknown") if k in metrics}  # known after the report was written
    if later:
        report = cfg.export_dir / "report" / "report.json"
        report.write_text(json.dumps({**json.loads(report.read_text()), **later}, indent=2) + "\n")
    return metrics


def _one_class_folder(data: Path) -> bool:
    from ..folders import class_folders

    return Path(data).is_dir() and len(class_folders(data)) == 1
