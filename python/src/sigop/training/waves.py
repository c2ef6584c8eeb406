"""Every file of a dataset as a waveform at the model's rate and channels: what waveform models train on.

Sound files carry their rate, as does a CSV with a time column; other
signals take the folder's signals.json rate (or --sample-rate). A file is a
signal [channels, samples]: a model has the channels its files have, and
every file must have as many (a folder mixing three-axis and one-axis files
is refused, naming one of each). Sound files are the exception: a folder
whose sound files differ in channels, or trained with --mono, is averaged to
one channel, as sound models always were. Channel names come from
signals.json's "channels", else from the files' CSV headers.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..audio import AudioError, resample
from ..frontend import FrontEnd
from ..signals import SIGNALS_FILE, SOUND_SUFFIXES, Signal, declared_channels, read_signal, signals_meta
from .dataset import Dataset

__all__ = ["load_waveform", "front_end_and_waves", "covering_length", "COVERED", "channel_names", "signal_channels"]

log = logging.getLogger(__name__)

COVERED = 0.98  # of the training files, whole at the model's length when no duration is given; longer ones are cut
SHORT = 1024  # samples: signals no longer than this all stay whole (the longest sets the length; it costs little)


def load_waveform(path: Path, default_rate: float | None, mono: bool = False, channels: int | None = None) -> Signal:
    """float32 samples [channels, n], the rate (sound files and CSVs with a time column carry theirs; other
    signals take ``default_rate``, and say None) and names. ``mono``: channels averaged, [1, n]; ``channels``: the
    count signals.json states, if any."""
    s = read_signal(path, None if mono else channels)
    if s.rate is None and default_rate is None:
        raise AudioError(f"{path}: a {path.suffix} signal has no sample rate; put {{\"sample_rate\": Hz}} in "
                         f"{SIGNALS_FILE} beside the class folders, or pass --sample-rate")
    x = s.samples.mean(axis=0, keepdims=True) if mono and s.channels > 1 else s.samples
    return Signal(x.astype(np.float32), s.rate, s.names)


def signal_channels(ds: Dataset, mono: bool = False) -> int:
    """Channels of the dataset's first signal file (every file must match, front_end_and_waves checks); sound files
    and --mono: one."""
    first = next((i.path for i in ds.items if i.is_signal and i.path.suffix.lower() not in SOUND_SUFFIXES), None)
    return 1 if mono or first is None else read_signal(first, declared_channels(signals_meta(ds.root))).channels


def channel_names(headers: set[tuple[str, ...]], meta: dict, channels: int) -> list[str]:
    """The channels' names: signals.json's, else the files' CSV headers' (every header naming the same), else none."""
    named = meta.get("channels")
    if named is not None:
        if len(named) != channels:
            raise ValueError(f"{SIGNALS_FILE} names {len(named)} channels {named}; the files hold {channels}")
        return [str(n) for n in named]
    headers = set(headers) - {()}
    if len(headers) > 1:
        raise ValueError(f"the CSV files name their channels differently: {sorted(headers)[:2]}; give every file "
                         f"the same header (or name them in {SIGNALS_FILE})")
    return list(headers.pop()) if headers and channels > 1 else []


def _channel_count(ds: Dataset, loaded: dict, mono: bool) -> int:
    counts = {p: s.channels for p, s in loaded.items()}
    if len(set(counts.values())) <= 1:
        return next(iter(counts.values()), 1)
    sound = all(p.suffix.lower() in SOUND_SUFFIXES for p in counts)
    if sound or mono:
        return 1
    by = {}
    for p, c in counts.items():
        by.setdefault(c, p)
    seen = ", ".join(f"{ds.name_of(next(i for i in ds.items if i.path == p))} has {c}" for c, p in sorted(by.items()))
    raise ValueError(f"signals of one model need the same channels: {seen}")


def front_end_and_waves(cfg, ds: Dataset, meta: dict) -> tuple[FrontEnd, dict[Path, np.ndarray]]:
    """The front end the config and data imply, and every file resampled to its rate: [samples] for one channel,
    [channels, samples] for several."""
    default_rate = meta.get("sample_rate") or cfg.sample_rate or None
    mono = getattr(cfg, "mono", False)
    loaded = {}
    for item in tqdm(ds.items, desc="loading", unit="file", disable=not cfg.progress):
        loaded[item.path] = load_waveform(item.path, default_rate or 1.0, mono, declared_channels(meta))
    channels = _channel_count(ds, loaded, mono)
    headers = {s.names for s in loaded.values()}
    own = {s.rate or default_rate or 1.0 for s in loaded.values()}
    if default_rate is None and any(s.rate is None for s in loaded.values()):
        log.warning("no sample rate declared for the signals (%s or --sample-rate): taking them as they are, at a "
                    "nominal 1 Hz; clients send sample_rate 0 or 1", SIGNALS_FILE)
    # Never upsample by default: sound files sharing a rate below 16 kHz stay at it (8 kHz speech is not doubled).
    rate = cfg.sample_rate or meta.get("sample_rate") or min(own.pop() if len(own) == 1 else 16000, 16000)
    waves = {p: resample(s.samples.mean(axis=0) if channels == 1 else s.samples, s.rate or default_rate or 1.0, rate)
             for p, s in loaded.items()}
    del loaded
    if cfg.duration:
        samples = int(round(cfg.duration * rate))
    else:
        samples = int(meta.get("samples") or covering_length([waves[i.path].shape[-1] for i in ds.items
                                                               if i.split != "test"]))
    cut = [i for i in ds.items if waves[i.path].shape[-1] > samples]
    if cut:
        log.info("%d of %d files are longer than the model's %d samples (%.3g s) and are cut to it", len(cut),
                 len(ds.items), samples, samples / rate)
    names = tuple(channel_names(headers, meta, channels)) if channels > 1 else ()
    if channels > 1:
        log.info("%d channels per signal%s", channels, f": {', '.join(names)}" if names else "")
    fe = FrontEnd(kind=cfg.resolved_front_end, sample_rate=float(rate), samples=samples, channels=channels,
                  channel_names=names,
                  normalize=cfg.model != "minirocket")  # MiniRocket's biases are fitted to the signals' own level
    if fe.kind in ("log_mel", "mfcc"):  # keep 25 ms frames, 10 ms hops at any rate
        frame = int(round(0.025 * rate))
        fe = replace(fe, frame_length=frame, frame_step=int(round(0.010 * rate)),
                     fft_length=1 << (frame - 1).bit_length())
    elif fe.kind == "power_spectrum":  # the FFT over the next power of two: LiteRT's FFT takes no other length
        fe = replace(fe, fft_length=1 << (samples - 1).bit_length())
    return fe, waves


def covering_length(lengths: list[int], share: float = COVERED) -> int:
    """The length that holds ``share`` of the files whole: one long file does not make every file cost its length.
    Short signals (the longest at most SHORT samples, e.g. 7-26 frames of a spoken vowel) are all kept whole."""
    if not lengths:
        return 1
    longest = max(lengths)
    return longest if longest <= SHORT else int(np.ceil(np.quantile(np.asarray(lengths), share, method="inverted_cdf")))
