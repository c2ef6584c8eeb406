"""Folders of class subfolders, the layout every dataset and evaluation set has: one reader for all.

``data/<class>/…`` (any depth) holds the files of one class; a folder
already split into ``train/`` and ``test/`` is refused rather than learned as
two classes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .inputs import SUFFIXES

__all__ = ["SPLIT_NAMES", "class_folders", "files_in", "labelled_files"]

SPLIT_NAMES = {"train", "training", "test", "testing", "val", "valid", "validation"}


def files_in(folder: Path) -> list[Path]:
    """Every file under ``folder`` (any depth) that an input plan reads, sorted."""
    return sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in SUFFIXES)


def class_folders(root: Path) -> list[str]:
    """Class folder names, sorted; folders named like splits are refused with the command that was meant."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such folder")
    classes = sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    splits = [c for c in classes if c.lower() in SPLIT_NAMES]
    if splits:
        train = next((c for c in splits if c.lower().startswith("train")), "train")
        test = next((c for c in splits if c.lower().startswith("test")), "test")
        raise ValueError(f"{root} holds {splits}: folders named like splits, not classes. Train on the training "
                         f"folder and test on the test folder: --data {root / train} --test-data {root / test}")
    return classes


def labelled_files(root: Path, labels: list[str]) -> tuple[list[Path], np.ndarray]:
    """Files under root/<class>/ and their indices in ``labels``; every class folder must be one of the labels
    (a label may have no folder)."""
    root = Path(root)
    classes = class_folders(root)
    unknown = [c for c in classes if c not in labels]
    if unknown:
        raise ValueError(f"{root}: class folders {unknown} are not labels of this model ({labels})")
    files, y = [], []
    for name in classes:
        found = files_in(root / name)
        files += found
        y += [labels.index(name)] * len(found)
    if not files:
        raise ValueError(f"{root}: no class folder holds a file sigop reads ({sorted(SUFFIXES)})")
    return files, np.array(y, dtype=np.int64)
