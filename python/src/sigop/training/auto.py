"""`--model auto`: choose the recipe for a dataset by stratified cross-validation.

Every candidate that fits the data turns each training file (never a test
file) into fixed features — MiniRocket's random-kernel features of the raw
waveform; the ImageNet backbone's features of the spectrum image (through
the bottleneck cache, so the chosen trainer reuses them) — and one yardstick
scores them all: the same ridge classifier, by stratified k-fold accuracy
(group-aware with --group). The best candidate is trained as usual. A tie
or a near tie goes to MiniRocket (``PREFERRED``): it keeps the data's rate,
channels and time base, is a tenth of the spectrum image's size and runs in
a fraction of its time, so the spectrum image must beat it by more than
``NEAR_TIE`` (and by more than one file) to be chosen. Every candidate's
score and the rule that chose goes in the report.

The CNN recipes are not candidates here: cross-validating one costs k full
trainings. On folders of sound files the log-mel CNN is one, on a single
hold-out instead (sound_auto.py).
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import replace

import numpy as np

from ..audio import fit_length
from ..signals import SOUND_SUFFIXES, signals_meta
from .config import SPECTRUM_IMAGE, TrainConfig
from .dataset import Dataset, group_of, scan
from .linear import cross_validated_accuracy
from .waves import signal_channels

__all__ = ["choose", "holds_sound", "NEAR_TIE", "PREFERRED", "pick"]

log = logging.getLogger(__name__)

PREFERRED = "minirocket"  # on a tie or near tie: the data's own rate, channels and time base; smaller and faster
NEAR_TIE = 0.01  # cross-validated accuracy another candidate must beat PREFERRED's by (and by more than one file)


def choose(cfg: TrainConfig) -> tuple[TrainConfig, dict | None]:
    """The config to train (auto replaced by the chosen model) and the selection's record for the report;
    a folder of sound files comes back as it went (auto, no record): sound_auto.py trains and chooses at once."""
    if cfg.front_end:  # a front end named: the model that draws it (images) or learns from it (1-D)
        model = "cnn" if cfg.front_end in ("power_spectrum", "waveform") else "transfer"
        log.info("auto: --front-end %s names the recipe: --model %s", cfg.front_end, model)
        return replace(cfg, model=model), {"chosen": model, "folds": 0, "candidates": [],
                                           "reason": f"--front-end {cfg.front_end} was given"}
    ds = scan(cfg.data, validation_pct=0, test_pct=cfg.test_pct, group=cfg.group, test_root=cfg.test_data)
    pool = [i for i in ds.items if i.split != "test"]
    if not ds.has_signals:
        return replace(cfg, model="transfer"), {"chosen": "transfer", "folds": 0, "candidates": [],
                                                "reason": "the dataset holds images only"}
    if holds_sound(ds):  # sound: the log-mel CNN is a candidate, on one hold-out (sound_auto.py)
        return cfg, None
    labels = np.array([i.label for i in pool])
    groups = _groups(cfg, ds, pool)
    candidates, channels = [], signal_channels(ds, cfg.mono)
    if channels > 1:
        log.info("auto: %d channels per signal: spectrum images draw one band each, MiniRocket its multivariate form",
                 channels)
    for name, features in (("transfer", _spectrum_image), ("minirocket", _minirocket)):
        t0 = time.perf_counter()
        feats = features(cfg, ds, pool)
        score = cross_validated_accuracy(feats, labels, cfg.cv_folds, cfg.seed, groups=groups,
                                         class_weight="balanced" if cfg.class_weight == "balanced" else None)
        candidates.append({"candidate": name, "cv_accuracy": round(score, 4), "features": int(feats.shape[1]),
                           "seconds": round(time.perf_counter() - t0, 2)})
        log.info("auto: %s scores %.4f by %d-fold cross-validation", name, score, cfg.cv_folds)
    chosen, rule = pick(candidates, len(pool))
    log.info("auto: %s (%s)", chosen, rule)
    record = {"chosen": chosen, "rule": rule, "folds": cfg.cv_folds, "yardstick": "ridge on fixed features",
              "files": len(pool), "candidates": candidates, **({"channels": channels} if channels > 1 else {})}
    return replace(cfg, model=chosen), record


def pick(candidates: list[dict], files: int) -> tuple[str, str]:
    """The chosen candidate and why: the most accurate, unless PREFERRED is within the near-tie margin of it."""
    best = max(candidates, key=lambda c: c["cv_accuracy"])
    preferred = next(c for c in candidates if c["candidate"] == PREFERRED)
    margin = max(NEAR_TIE, 1 / max(files, 1))
    lead = best["cv_accuracy"] - preferred["cv_accuracy"]
    if best is preferred:
        return PREFERRED, "the most accurate"
    if lead <= margin + 1e-9:
        what = f"a tie with {best['candidate']}" if lead <= 1e-9 else f"within {100 * margin:.2g} points of " \
               f"{best['candidate']}"
        return PREFERRED, (f"{what} (a tie or near tie goes to {PREFERRED}: the data's own rate, channels and time "
                           f"base, smaller and faster)")
    return best["candidate"], f"{100 * lead:.2g} points above {PREFERRED}, more than the near-tie margin"


def holds_sound(ds: Dataset) -> bool:
    """Every file a sound file (WAV/FLAC/OGG)."""
    return bool(ds.items) and all(i.path.suffix.lower() in SOUND_SUFFIXES for i in ds.items)


def _groups(cfg: TrainConfig, ds: Dataset, pool) -> np.ndarray | None:
    if not cfg.group:
        return None
    pattern = re.compile(cfg.group)
    return np.array([group_of(ds.name_of(i), pattern) for i in pool])


def _spectrum_image(cfg: TrainConfig, ds: Dataset, pool) -> np.ndarray:
    from .backbones import get_backbone
    from .bottlenecks import BottleneckCache
    from .spectra import example_features, fit_contract

    backbone = get_backbone(cfg.backbone)
    spectra_cfg = replace(cfg, model="transfer", front_end=SPECTRUM_IMAGE)
    ds = replace(ds, contract=fit_contract(spectra_cfg, backbone.input_size, ds), mono=cfg.mono)
    cache = BottleneckCache(backbone, cfg.weights, cfg.cache_dir)
    return example_features(spectra_cfg, ds, [(i, 0) for i in pool], cache, backbone.input_size)


def _minirocket(cfg: TrainConfig, ds: Dataset, pool) -> np.ndarray:
    from .minirocket import fit as fit_minirocket
    from .minirocket import transform
    from .waveforms import front_end_and_waves

    fe, waves, _ = front_end_and_waves(replace(cfg, model="minirocket"), replace(ds, items=pool), signals_meta(cfg.data))
    x = np.stack([fit_length(waves[i.path], fe.samples) for i in pool])
    return transform(fit_minirocket(x, seed=cfg.seed), x, cfg.progress)
