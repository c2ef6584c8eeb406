"""Where `sigop train` writes: into a staging folder beside the target, renamed into place when the export is whole.

A server polling the graphs folder never sees a half-written export: staging
folders are hidden (``.<name>.partial-<pid>``), and ``discover`` skips names
that start with a dot or are not version numbers. ``--version N`` writes
``<out>/N/`` (the manifest says N), ``--version next`` one more than the
newest there; without it, ``<out>`` itself is the model (version 1).
Replacing an earlier export swaps folders with two renames; a folder that
is not a sigop export, or that holds version folders, is never replaced.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..manifest import MANIFEST_FILE, MAX_VERSION_DIGITS, parse_version

__all__ = ["resolve_version", "staging_for", "check_target", "publish"]


def _numbered(out: Path) -> list[int]:
    if not out.is_dir():
        return []
    return sorted(v for p in out.iterdir() if p.is_dir() and (v := parse_version(p.name)))


def resolve_version(out: Path, asked: str) -> int:
    """``--version``: "" (0: the unversioned layout), a positive number, or "next" (one past the newest version
    under ``out``, its own manifest counting as version 1)."""
    asked = (asked or "").strip()
    if not asked:
        return 0
    if asked == "next":
        newest = max(_numbered(out) + ([1] if (out / MANIFEST_FILE).is_file() else []), default=0)
        return newest + 1
    number = parse_version(asked)
    if not number:
        raise ValueError(f"--version {asked[:40]!r}: expected a positive whole number (1-{MAX_VERSION_DIGITS} digits "
                         f"0-9), or next")
    return number


def staging_for(final: Path) -> Path:
    return final.parent / f".{final.name}.partial-{os.getpid()}"


def check_target(final: Path, version: int) -> None:
    """Refuse to replace what is not an earlier export of one model version (before any training is done)."""
    if not final.exists():
        return
    if not final.is_dir():
        raise ValueError(f"--out {final} is a file; expected a folder to export into")
    if not any(final.iterdir()):
        return
    if not version and _numbered(final):
        raise ValueError(f"{final} holds version folders {_numbered(final)}; write another with --version next "
                         f"rather than replacing them all")
    if not (final / MANIFEST_FILE).is_file():
        raise ValueError(f"{final} exists and is not a sigop export (no {MANIFEST_FILE}); choose another --out or "
                         f"remove it")


def publish(staging: Path, final: Path) -> None:
    """Move the finished export into place; an earlier export there is swapped out, then removed."""
    final.parent.mkdir(parents=True, exist_ok=True)
    old = None
    if final.exists():
        old = final.parent / f".{final.name}.old-{os.getpid()}"
        os.rename(final, old)
    os.rename(staging, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
