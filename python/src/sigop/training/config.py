"""What `sigop train` can be asked for: the settings, their defaults and the names to choose from.

Nothing here imports TensorFlow, so the command line can show its options
(with these defaults, stated once) without starting it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..frontend import KINDS as FRONT_ENDS
from ..signals import SIGNALS_FILE
from ..unknown import DEFAULT_RATE
from .audio_augment import AudioAugment
from .augment import Augment
from .backbones import BACKBONES, DEFAULT_BACKBONE

__all__ = ["TrainConfig", "NETWORKS", "CLASS_WEIGHTS", "NATURAL_FRONT_END", "SHIFT_INVARIANT", "FRONT_ENDS", "SPECTRUM_IMAGE", "BACKBONES",
           "SIGNALS_FILE", "default_cache_dir"]

SPECTRUM_IMAGE = "spectrum_image"  # the article's front end: FFT pictures, via the FFT graph when serving
NETWORKS = ("auto", "minirocket", "transfer", "cnn", "dense")
SHIFT_INVARIANT = {"cnn": True, "dense": False, "transfer": False, "minirocket": False}  # in frequency (seed 002), by design
CLASS_WEIGHTS = ("balanced", "none")
# The front end each model takes when --front-end is not given.
NATURAL_FRONT_END = {"minirocket": "waveform", "transfer": SPECTRUM_IMAGE, "cnn": "power_spectrum",
                     "dense": "power_spectrum"}


def default_cache_dir() -> Path:
    return Path.home() / ".cache" / "sigop" / "bottlenecks"


@dataclass
class TrainConfig:
    data: Path
    out: Path
    name: str = ""
    model: str = "auto"  # one of NETWORKS; auto: cross-validated choice (training/auto.py)
    front_end: str = ""  # SPECTRUM_IMAGE or a waveform front end (FRONT_ENDS); "": the model's own
    sample_rate: float = 0  # waveform models: the rate files are resampled to (0: signals.json, else their own)
    mono: bool = False  # waveform models: average each file's channels (else a model has its files' channels)
    duration: float = 0.0  # waveform models: seconds per example (0: signals.json, else covering 98 % of training files)
    group: str | None = None  # regex keying the split on part of each file name (e.g. the speaker)
    backbone: str = DEFAULT_BACKBONE
    weights: str = "imagenet"
    validation_pct: float = 10
    test_pct: float = 10  # ignored with test_data
    test_data: Path | None = None  # an explicit test set (class folders), never used for training or selection
    signal_length: int | None = None  # n of the spectrum contract; default: contract.json, else the longest signal
    spectrum_level: str = ""  # absolute or relative dB (render.LEVELS); "": contract.json's, else relative
    epochs: int = 100
    batch_size: int = 32
    learning_rate: float = 1e-3
    dropout: float = 0.2
    class_weight: str = "balanced"  # or "none": every class weighs the same in the loss, however many files it has
    cv_folds: int = 5  # --model auto: stratified folds per candidate
    patience: int = 10
    fine_tune_epochs: int = 0
    fine_tune_lr_factor: float = 0.03
    augment: Augment = field(default_factory=Augment)  # spectrum images: the signal before it is drawn
    audio_augment: AudioAugment = field(default_factory=AudioAugment)  # waveform front ends
    cache_dir: Path | None = field(default_factory=default_cache_dir)
    seed: int = 0
    progress: bool = True
    saved_model: bool = True
    lite: bool = True  # convert to model.tflite (LiteRT) after the export
    quantize: str = ""  # "int8": also model.int8.tflite, calibrated on training files
    unknown_rate: float = DEFAULT_RATE  # known files the unknown score's threshold calls unknown (unknown.py)
    one_class: bool = False  # train on one class of normal files: an anomaly score (one_class.py); one folder implies it
    version: int = 0  # 0: cfg.out is the model (version 1); N: cfg.out/N, its manifest saying N
    staging: Path | None = None  # where the trainers write, renamed to final_dir when whole (publish.py)

    @property
    def final_dir(self) -> Path:
        return Path(self.out) / str(self.version) if self.version else Path(self.out)

    @property
    def export_dir(self) -> Path:
        """Where the trainers write: the staging folder, else the final one."""
        return Path(self.staging) if self.staging else self.final_dir

    @property
    def model_name(self) -> str:
        return self.name or Path(self.out).name

    @property
    def manifest_version(self) -> int:
        return self.version or 1

    @property
    def resolved_front_end(self) -> str:
        """The front end to train: the one asked for, else the model's own."""
        if self.model == "minirocket" and self.front_end not in ("", "waveform"):
            raise ValueError(f"--model minirocket takes raw waveforms; drop --front-end {self.front_end}")
        return self.front_end or NATURAL_FRONT_END.get(self.model, SPECTRUM_IMAGE)

    @property
    def takes_waveforms(self) -> bool:
        return self.resolved_front_end != SPECTRUM_IMAGE

    def to_json(self) -> dict:
        """The settings for a report, augmentations left to their own entries."""
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()
                if k not in ("augment", "audio_augment", "staging")}
