"""Training: datasets of class folders, augmentation, backbones and networks, and the
trainers that export classifiers. ``train(cfg)`` picks the trainer the front end needs."""

from __future__ import annotations

from .config import TrainConfig

__all__ = ["train", "TrainConfig"]


def train(cfg: TrainConfig) -> dict:
    """Train, evaluate and export to cfg.out; returns the report's metrics.

    Spectrum images go to the transfer-learning trainer (spectra.py), waveform
    front ends to the one that puts the front end inside the graph (waveforms.py).
    TensorFlow is imported here, not when this package is.
    """
    if cfg.takes_waveforms:
        from .waveforms import train as train_waveforms

        return train_waveforms(cfg)
    from .spectra import train as train_spectra

    return train_spectra(cfg)
