"""Datasets: the article's generated signals, and users' own class folders.

A dataset is a folder of class subfolders. Each file is either an image
(.png, .jpg, .jpeg) used as it is, or a signal (.npy, .csv, .txt, .wav) that
the spectrum renderer turns into an image. The split into train, validation
and test is decided per file by a hash of its path inside the dataset, so it
never changes when files are added and is the same on every machine. With a
group pattern, whole groups (e.g. speakers) are split instead: ranked by the
hash of their name, the first test_pct % of them (at least one) go to test,
the next validation_pct % to validation, so no group straddles two splits.
Without groups, each class's validation files are topped up to its share
(at least two) from its training files, so early stopping sees every class.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..images import SUFFIXES as IMAGE_SUFFIXES
from ..images import decode_image, gray_to_rgb
from ..folders import class_folders, files_in, labelled_files
from ..render import CONTRACT_FILE, SpectrumContract, render_signal
from ..signals import SIGNAL_SUFFIXES, load_signal, read_signal

__all__ = [
    "IMAGE_SUFFIXES", "SIGNAL_SUFFIXES", "Item", "Dataset", "scan", "load_signal", "CONTRACT_FILE", "signal_of",
]

log = logging.getLogger(__name__)

SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class Item:
    path: Path
    label: int
    split: str

    @property
    def is_signal(self) -> bool:
        return self.path.suffix.lower() in SIGNAL_SUFFIXES

    def augmentation_rng(self, seed: int, k: int) -> np.random.Generator:
        """The random stream of this file's k-th augmented copy: the same on every run and machine."""
        path_key = int(hashlib.sha256(str(self.path).encode() + b"\0").hexdigest()[:8], 16)
        return np.random.default_rng([seed, path_key, k])


@dataclass
class Dataset:
    root: Path
    classes: list[str]
    items: list[Item]
    contract: SpectrumContract | None  # for signals, or images sigop rendered
    test_root: Path | None = None  # an explicit test set (--test-data), outside root
    mono: bool = False  # signal files' channels averaged (--mono)

    def name_of(self, item: Item) -> str:
        """The item's path as reports show it: inside root, or test-data/... for the explicit test set."""
        if self.test_root is not None and item.path.is_relative_to(self.test_root):
            return "test-data/" + item.path.relative_to(self.test_root).as_posix()
        return item.path.relative_to(self.root).as_posix()

    def split(self, name: str) -> list[Item]:
        return [i for i in self.items if i.split == name]

    def examples(self, copies: int) -> list[tuple[Item, int]]:
        """(item, augmentation index) pairs: each item as it is (0), then 1..copies for training signals."""
        return [(item, k) for item in self.items
                for k in range(1 + (copies if item.split == "train" and item.is_signal else 0))]

    @property
    def has_signals(self) -> bool:
        return any(i.is_signal for i in self.items)


def _hash(key: str) -> int:
    return int(hashlib.sha1(key.encode()).hexdigest()[:8], 16)


def split_of(relative: str, validation_pct: float, test_pct: float) -> str:
    """Stable split from the hash of a file's path inside the dataset."""
    bucket = _hash(relative) % 10000 / 100.0
    if bucket < test_pct:
        return "test"
    if bucket < test_pct + validation_pct:
        return "validation"
    return "train"


def group_of(relative: str, pattern: re.Pattern | None) -> str:
    """The split key of a file: its path, or the first match of ``pattern`` in its file name."""
    if pattern is None:
        return relative
    name = relative.rsplit("/", 1)[-1]
    m = pattern.search(name)
    if m is None:
        raise ValueError(f"{relative}: file name does not match the group pattern {pattern.pattern!r}")
    return m.group(1) if pattern.groups else m.group(0)


def group_splits(groups: set[str], validation_pct: float, test_pct: float) -> dict[str, str]:
    """Whole groups to splits: ranked by hash, test first, then validation; each asked-for split gets one or more."""
    ranked = sorted(groups, key=lambda g: (_hash(g), g))
    n_test = max(1, round(len(ranked) * test_pct / 100)) if test_pct > 0 else 0
    n_val = max(1, round(len(ranked) * validation_pct / 100)) if validation_pct > 0 else 0
    if n_test + n_val >= len(ranked):
        raise ValueError(f"{len(ranked)} groups cannot fill test ({test_pct}%), validation ({validation_pct}%) "
                         f"and train; the split needs more groups")
    return {g: "test" if i < n_test else "validation" if i < n_test + n_val else "train" for i, g in enumerate(ranked)}


def scan(root: Path, *, validation_pct: float = 10, test_pct: float = 10, contract: SpectrumContract | None = None,
         min_per_split: int = 2, group: str | None = None, test_root: Path | None = None,
         min_classes: int = 2) -> Dataset:
    """List a folder of class subfolders; warn about classes with too few files.

    ``group``: a regular expression whose first match in a file name (its
    first capture group, if it has one) keys the split, e.g. ``^[^_]+`` for
    files named ``<speaker>_<take>.wav``.
    """
    root = Path(root)
    pattern = re.compile(group) if group else None
    classes = class_folders(root)
    if test_root is not None:
        test_pct = 0.0  # the explicit test set is the test split
    if len(classes) < min_classes:
        raise ValueError(f"{root}: found {len(classes)} class folder(s); expected at least {min_classes} "
                         f"subfolder{'s' if min_classes > 1 else ''}, one per class")
    saved = root / CONTRACT_FILE
    if contract is None and saved.is_file():
        contract = SpectrumContract.from_json(json.loads(saved.read_text()))
    files = {}
    for name in classes:
        files[name] = files_in(root / name)
        if not files[name]:
            raise ValueError(f"{root / name}: no images ({sorted(IMAGE_SUFFIXES)}) or signals ({sorted(SIGNAL_SUFFIXES)})")
    if pattern is None:
        split = lambda rel: split_of(rel, validation_pct, test_pct)  # noqa: E731
    else:
        keys = {p: group_of(p.relative_to(root).as_posix(), pattern) for fs in files.values() for p in fs}
        by_group = group_splits(set(keys.values()), validation_pct, test_pct)
        split = lambda rel: by_group[keys[root / rel]]  # noqa: E731
    items = []
    for label, name in enumerate(classes):
        mine = [Item(p, label, split(p.relative_to(root).as_posix())) for p in files[name]]
        if pattern is None:
            mine = _stratify(mine, root, validation_pct)
        items += mine
        counts = {s: sum(1 for i in items if i.label == label and i.split == s) for s in SPLITS}
        thin = [s for s in SPLITS if counts[s] < min_per_split and (s == "train" or {"validation": validation_pct, "test": test_pct}[s] > 0)]
        if thin:
            log.warning("class %r has few files: %s (splits are %.0f/%.0f/%.0f %%)", name, counts,
                        100 - validation_pct - test_pct, validation_pct, test_pct)
    if test_root is not None:
        items += _test_items(Path(test_root), classes)
    return Dataset(root, classes, items, contract, Path(test_root) if test_root is not None else None)


def _stratify(items: list[Item], root: Path, validation_pct: float, least: int = 2) -> list[Item]:
    """Top up one class's validation files to its share (at least ``least``) from its training files, lowest
    hash first: every class is seen by early stopping, and the split stays stable as files are added."""
    if validation_pct <= 0 or len(items) < 5:
        return items
    want = max(least, round(len(items) * validation_pct / 100))
    short = want - sum(1 for i in items if i.split == "validation")
    if short <= 0:
        return items
    train = sorted((i for i in items if i.split == "train"), key=lambda i: _hash(i.path.relative_to(root).as_posix()))
    moved = {i.path for i in train[:min(short, len(train) - least)]}
    return [Item(i.path, i.label, "validation") if i.path in moved else i for i in items]


def _test_items(test_root: Path, classes: list[str]) -> list[Item]:
    """Every file of an explicit test set, in the test split; its class folders must be the dataset's classes."""
    files, y = labelled_files(test_root, classes)
    return [Item(p, int(label), "test") for p, label in zip(files, y)]


def signal_of(path: Path, contract: SpectrumContract | None, mono: bool = False) -> np.ndarray:
    """A signal file as a spectrum image draws it: [n] for one channel (``mono``: its channels averaged), [channels,
    n] for a contract of several (whose count the file must have)."""
    if mono:
        return read_signal(path).samples.mean(axis=0)
    if contract is None or contract.channels == 1:
        return load_signal(path)
    x = read_signal(path, contract.channels).samples
    if x.shape[0] != contract.channels:
        raise ValueError(f"{path}: holds {x.shape[0]} channels; the spectrum images draw {contract.channels}")
    return x


def item_image(item: Item, ds: Dataset, size: int) -> np.ndarray:
    """The uint8 RGB image a backbone sees for a dataset item."""
    if item.is_signal:
        return gray_to_rgb(render_signal(signal_of(item.path, ds.contract, ds.mono), ds.contract)[0])  # fitted to n
    return decode_image(item.path.read_bytes(), size)
