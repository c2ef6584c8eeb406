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
from ..progress import bar as progress_bar

from ..audio import resample
from ..frontend import FrontEnd
from ..signals import SIGNALS_FILE, SOUND_SUFFIXES, Signal, declared_channels, read_signal, signals_meta
from .dataset import Dataset

__all__ = ["load_waveform", "front_end_and_waves", "covering_length", "COVERED", "channel_names", "signal_channels"]

log = logging.getLogger(__name__)

COVERED = 0.98  # of the training files, whole at the model's length when no duration is given; longer ones are cut
SHORT = 1024  # samples: signals no longer than this all stay whole (the longest sets the length; it costs little)


def load_waveform(path: Path, channels: int | None = None) -> Signal:
    """float32 samples [channels, n], the rate the file states (sound files, CSVs with a time column; else None)
    and its channel names; ``channels``: the count signals.json states, if any."""
    s = read_signal(path, channels)
    return Signal(s.samples.astype(np.float32), s.rate, s.names)


def signal_channels(ds: Dataset, mono: bool = False) -> int:
    """Channels of the dataset's first signal file (every file must match, front_end_and_waves checks); sound files
    and --mono: one."""
    first = next((i.path for i in ds.items if i.is_signal and i.path.suffix.lower() not in SOUND_SUFFIXES), None)
    return 1 if mono or first is None else read_signal(first, declared_channels(signals_meta(ds.root))).channels


def channel_names(headers: set[tuple[str, ...]], meta: dict, channels: int) -> list[str]:
    """The channels' names: signals.json's, else the files' CSV headers' (every header naming the same), else none."""
    declared = declared_channels(meta)
    if declared is not None and declared != channels:
        raise ValueError(f"{SIGNALS_FILE} states {declared} channels ({meta['channels']}); the files hold {channels}")
    if isinstance(meta.get("channels"), list):
        return [str(n) for n in meta["channels"]]
    headers = set(headers) - {()}
    if len(headers) > 1:
        raise ValueError(f"the CSV files name their channels differently: {sorted(headers)[:2]}; give every file "
                         f"the same header (or name them in {SIGNALS_FILE})")
    return list(headers.pop()) if headers and channels > 1 else []


def _channel_count(ds: Dataset, loaded: dict[Path, Signal], mono: bool) -> int:
    """The model's channels: its files' (all alike), one with --mono or for sound files whose counts differ."""
    first = {}  # channel count -> the first item that has it
    for item in ds.items:
        first.setdefault(loaded[item.path].channels, item)
    if mono or len(first) <= 1:
        return 1 if mono else next(iter(first), 1)
    if all(p.suffix.lower() in SOUND_SUFFIXES for p in loaded):
        return 1
    seen = ", ".join(f"{ds.name_of(item)} has {c}" for c, item in sorted(first.items()))
    raise ValueError(f"signals of one model need the same channels: {seen}")


def front_end_and_waves(cfg, ds: Dataset, meta: dict) -> tuple[FrontEnd, dict[Path, np.ndarray], bool]:
    """The front end the config and data imply; every file resampled to its rate: [samples] for one channel,
    [channels, samples] for several; and whether the rate is declared (signals.json, --sample-rate, or every file
    stating its own), so that the model can resample signals sent at other rates."""
    default_rate = meta.get("sample_rate") or cfg.sample_rate or None
    expected = None if cfg.mono else declared_channels(meta)
    loaded = {item.path: load_waveform(item.path, expected)
              for item in progress_bar(ds.items, desc="loading", unit="file", disable=not cfg.progress)}
    channels = _channel_count(ds, loaded, cfg.mono)
    headers = {s.names for s in loaded.values()}
    declared = default_rate is not None or all(s.rate is not None for s in loaded.values())
    if not declared:
        log.warning("no sample rate declared for the signals (%s or --sample-rate): taking them as they are, at a "
                    "nominal 1 Hz; clients send sample_rate 0 or 1", SIGNALS_FILE)
    rate_of = {p: s.rate or default_rate or 1.0 for p, s in loaded.items()}
    own = set(rate_of.values())
    # Never upsample by default: sound files sharing a rate below 16 kHz stay at it (8 kHz speech is not doubled).
    rate = cfg.sample_rate or meta.get("sample_rate") or min(own.pop() if len(own) == 1 else 16000, 16000)
    waves = {p: resample(s.samples.mean(axis=0) if channels == 1 else s.samples, rate_of[p], rate)
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
    return fe, waves, declared


def covering_length(lengths: list[int], share: float = COVERED) -> int:
    """The length that holds ``share`` of the files whole: one long file does not make every file cost its length.
    Short signals (the longest at most SHORT samples, e.g. 7-26 frames of a spoken vowel) are all kept whole."""
    if not lengths:
        return 1
    longest = max(lengths)
    return longest if longest <= SHORT else int(np.ceil(np.quantile(np.asarray(lengths), share, method="inverted_cdf")))
