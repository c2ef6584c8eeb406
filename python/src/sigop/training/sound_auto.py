"""`--model auto` on a folder of sound files: the log-mel CNN against MiniRocket on one hold-out.

Cross-validating a CNN costs k trainings, so sound folders get a cheaper
protocol: one stratified hold-out (the validation split, whole groups with
--group) that both candidates are scored on. The log-mel CNN is trained as
`--model cnn --front-end log_mel` trains it — early stopping on that
hold-out, within --auto-budget seconds — and MiniRocket's ridge is fitted on
the training split alone. Whichever is more accurate on the hold-out is
exported; a tie goes to the CNN (shift-invariant, and sigop's best recipe
for sound). The CNN is exported as trained; MiniRocket, chosen, refits its
ridge on training and hold-out files, reusing their features. Every file is
read and resampled once, and MiniRocket's features are computed once.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

import numpy as np

from ..audio import fit_length
from ..signals import signals_meta
from ..tfenv import tf
from .config import SHIFT_INVARIANT, TrainConfig
from .dataset import Dataset, scan
from .minirocket import fit as fit_minirocket
from .minirocket import transform
from .waveforms import finish, fit_network, front_end_and_waves, minirocket_model, ridge_on

__all__ = ["train", "NETWORK_FRONT_END"]

log = logging.getLogger(__name__)

NETWORK_FRONT_END = "log_mel"


def train(cfg: TrainConfig) -> dict:
    started = time.perf_counter()
    tf.keras.utils.set_random_seed(cfg.seed)
    ds = scan(cfg.data, validation_pct=cfg.validation_pct, test_pct=cfg.test_pct, group=cfg.group,
              test_root=cfg.test_data)
    meta = signals_meta(cfg.data)
    cnn_cfg = replace(cfg, model="cnn", front_end=NETWORK_FRONT_END)
    fe, waves, declared = front_end_and_waves(cnn_cfg, ds, meta)
    holdout = np.array([i.split == "validation" for i in ds.items])
    labels = np.array([i.label for i in ds.items])
    log.info("auto: %d classes, %d files at %g Hz, %d samples (%.3f s); log-mel CNN and MiniRocket scored on a "
             "hold-out of %d files", len(ds.classes), len(ds.items), fe.sample_rate, fe.samples,
             fe.samples / fe.sample_rate, int(holdout.sum()))

    t0 = time.perf_counter()
    wave_fe = replace(fe, kind="waveform", normalize=False)  # MiniRocket's: the same rate, length and channels
    x = np.stack([fit_length(waves[i.path], fe.samples) for i in ds.items])
    params = fit_minirocket(x[np.array([i.split == "train" for i in ds.items])], seed=cfg.seed)
    feats = transform(params, x, cfg.progress)
    mr = _candidate("minirocket", ridge_on(cfg, ds, feats)[1], labels, holdout, t0)

    t0 = time.perf_counter()
    model, logits, history, extra = fit_network(cnn_cfg, ds, fe, waves)
    cnn = _candidate(f"cnn ({NETWORK_FRONT_END})", logits, labels, holdout, t0)
    cnn_wins = cnn["holdout_accuracy"] >= mr["holdout_accuracy"]
    record = {"chosen": cnn["candidate"] if cnn_wins else "minirocket",
              "rule": ("a tie goes to the CNN on sound (shift-invariant, sigop's best recipe for sound)"
                       if cnn["holdout_accuracy"] == mr["holdout_accuracy"] else "the more accurate on the hold-out"),
              "protocol": "one stratified hold-out (the validation split)", "holdout_files": int(holdout.sum()),
              "candidates": [cnn, mr]}
    log.info("auto: hold-out accuracy %s %.4f, minirocket %.4f: %s", cnn["candidate"], cnn["holdout_accuracy"],
             mr["holdout_accuracy"], record["chosen"])
    if record["chosen"] == "minirocket":  # its ridge again, on every non-test file's features
        trained = replace(ds, items=[replace(i, split="train") if i.split == "validation" else i for i in ds.items])
        mr_cfg = replace(cfg, model="minirocket", front_end="")
        model, logits, extra, compiled, left_out = minirocket_model(mr_cfg, trained, wave_fe, params, feats)
        metrics = finish(mr_cfg, trained, wave_fe, model, logits, {}, extra, meta, started,
                         SHIFT_INVARIANT["minirocket"], compiled=compiled, rate_declared=declared, left_out=left_out)
    else:
        metrics = finish(cnn_cfg, ds, fe, model, logits, history, extra, meta, started, SHIFT_INVARIANT["cnn"],
                         cnn_cfg.audio_augment, rate_declared=declared)
    metrics["auto"] = record
    return metrics


def _candidate(name: str, scores: np.ndarray, labels: np.ndarray, holdout: np.ndarray, started: float) -> dict:
    right = scores[holdout].argmax(axis=1) == labels[holdout]
    return {"candidate": name, "holdout_accuracy": round(float(right.mean()) if right.size else 0.0, 4),
            "seconds": round(time.perf_counter() - started, 2)}

