"""One content key for the caches that skip work already done: bottlenecks on disk, MiniRocket features in memory."""

from __future__ import annotations

import hashlib

__all__ = ["content_key"]


def content_key(*parts: bytes | str) -> str:
    """sha256 over the parts, each ended by a NUL so that no two splits of the same bytes collide."""
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode() if isinstance(p, str) else p)
        h.update(b"\0")
    return h.hexdigest()
