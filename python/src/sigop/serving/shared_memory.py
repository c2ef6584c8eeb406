"""Shared-memory regions: files in one directory that clients on the same host pass tensors through.

A client writes its signals into a file under the directory (``/dev/shm``),
registers it, and sends only the region's name, offset and size; the server
maps the file once and hands the graph a view of it, so an 8 MiB signal is
never copied through HTTP/2 and protobuf. Outputs are written into a range
the client names and reads in place.

Every region is bounded: its name and key are checked, its file must be a
regular file in the directory (no symlink, no path), its range must lie
inside the file, and the server holds at most ``max_regions`` of them and
``max_bytes`` in total. A client holds a shared ``flock`` on its file while
it uses the region; a file nobody holds locked any more belongs to a client
that has gone, and its region is released (on every register and status
call, and by ``sweep``).

A client can still shrink its file under a mapped region, and reading past
a file's end is SIGBUS; so the file's size is checked again before every
use. What remains is the moment between that check and the read, a risk a
server offering shared memory takes with the clients it lets use it (Triton
takes the same one), which is why it is off unless ``--allow-shared-memory``.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import re
import stat
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..inputs import InvalidInput, Unsupported
from ..limits import MiB, OverBudget, clip
from .errors import ModelNotFound

__all__ = ["SharedMemoryConfig", "SharedMemory", "Region", "RegionExists", "RegionNotFound"]

_NAME = re.compile(r"[A-Za-z0-9._-]{1,128}")
_KEY = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,254}")


class RegionExists(Exception):
    """A region of that name is registered already (ALREADY_EXISTS)."""


class RegionNotFound(ModelNotFound):
    """No region of that name is registered (NOT_FOUND)."""


@dataclass(frozen=True)
class SharedMemoryConfig:
    """Where regions' files must be, and how many of them, of how many bytes in all, the server maps at once."""

    directory: Path | None = None  # None: shared memory is not offered
    max_regions: int = 64
    max_bytes: int = 2048 * MiB

    @property
    def enabled(self) -> bool:
        return self.directory is not None


@dataclass
class Region:
    """One registered range of a file, mapped."""

    name: str
    key: str
    offset: int
    size: int
    fd: int
    map: mmap.mmap
    start: int  # where the range begins in the map (the map starts at a page boundary)

    def close(self) -> None:
        os.close(self.fd)
        try:
            self.map.close()
        except BufferError:  # a call still reads a view of it: the map closes when that view is gone
            pass

    def abandoned(self) -> bool:
        """Nobody holds the file locked any more: its client has gone."""
        return _unlocked(self.fd)


class SharedMemory:
    """The registry of a server's shared-memory regions; safe for concurrent calls."""

    def __init__(self, config: SharedMemoryConfig):
        self.config = config
        self._regions: dict[str, Region] = {}
        self._lock = threading.Lock()

    def _offered(self) -> Path:
        if not self.config.enabled:
            raise Unsupported("this server does not offer shared memory (start it with --allow-shared-memory); "
                              "send the values in content")
        return self.config.directory

    def register(self, name: str, key: str, offset: int, size: int) -> None:
        directory = self._offered()
        if not _NAME.fullmatch(name):
            raise InvalidInput(f"region name {clip(name)}: expected 1-128 letters, digits, '.', '_' or '-'")
        if not _KEY.fullmatch(key) or key in (".", ".."):
            raise InvalidInput(f"region key {clip(key)}: expected the plain name of a file in {directory} "
                               f"(letters, digits, '.', '_', '-'; no '/', not starting with '.')")
        if size <= 0:
            raise InvalidInput(f"region {name}: byte_size must be at least 1")
        self.sweep()
        with self._lock:
            if name in self._regions:
                raise RegionExists(f"a region named {name} is registered already; unregister it first")
            total = sum(r.size for r in self._regions.values())
            if len(self._regions) >= self.config.max_regions:
                raise OverBudget(f"this server holds {len(self._regions)} shared-memory regions, its limit; "
                                 f"unregister one first")
            if total + size > self.config.max_bytes:
                raise OverBudget(f"region {name}: {size} bytes would bring this server's shared memory to "
                                 f"{total + size} bytes, over its limit of {self.config.max_bytes}")
            self._regions[name] = _open(directory, name, key, offset, size)

    def unregister(self, name: str) -> None:
        with self._lock:
            region = self._regions.pop(name, None)
        if region is None:
            raise RegionNotFound(f"no shared-memory region named {clip(name)} is registered")
        region.close()

    def status(self) -> list[Region]:
        self.sweep()
        with self._lock:
            return sorted(self._regions.values(), key=lambda r: r.name)

    def sweep(self) -> int:
        """Release the regions whose client has gone; how many."""
        with self._lock:
            gone = [name for name, r in self._regions.items() if r.abandoned()]
            closing = [self._regions.pop(name) for name in gone]
        for r in closing:
            r.close()
        return len(closing)

    def array(self, ref, nbytes: int, field: str, *, writable: bool = False) -> np.ndarray:
        """The float64 values at ``ref`` (a SharedMemoryRef: region, offset, byte_size), in place.

        ``nbytes`` is what the caller's shape needs; ``writable`` views are for outputs.
        """
        self._offered()
        with self._lock:
            region = self._regions.get(ref.region)
        if region is None:
            raise RegionNotFound(f"{field}: no shared-memory region named {clip(ref.region)} is registered "
                                 f"(register it, or send the values in content)")
        if ref.offset % 8:
            raise InvalidInput(f"{field}: shared-memory offset {ref.offset} is not a multiple of 8")
        if writable and ref.byte_size < nbytes:
            raise InvalidInput(f"{field}: shared-memory byte_size {ref.byte_size} is too small; the answer needs "
                               f"{nbytes} bytes")
        if not writable and ref.byte_size != nbytes:
            raise InvalidInput(f"{field}: shared-memory byte_size {ref.byte_size}; its shape needs {nbytes} bytes")
        if ref.offset + ref.byte_size > region.size:
            raise InvalidInput(f"{field}: bytes {ref.offset}..{ref.offset + ref.byte_size} lie past the end of "
                               f"region {region.name} ({region.size} bytes)")
        if os.fstat(region.fd).st_size < region.offset + region.size:  # reading a shrunk file's mapping is SIGBUS
            raise InvalidInput(f"{field}: region {region.name}'s file is shorter than when it was registered")
        x = np.frombuffer(region.map, dtype="<f8", count=nbytes // 8, offset=region.start + ref.offset)
        x.flags.writeable = writable
        return x

    def close(self) -> None:
        with self._lock:
            regions, self._regions = list(self._regions.values()), {}
        for r in regions:
            r.close()


def _open(directory: Path, name: str, key: str, offset: int, size: int) -> Region:
    """Open and map ``key`` in ``directory``, refusing anything but a regular file there, locked by its client."""
    try:
        fd = os.open(directory / key, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        raise InvalidInput(f"region {name}: no file {key} in {directory} (is the client on this host?)") from None
    except OSError as e:
        raise InvalidInput(f"region {name}: cannot open {key} in {directory}: {e.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InvalidInput(f"region {name}: {key} in {directory} is not a regular file")
        if offset + size > info.st_size:
            raise InvalidInput(f"region {name}: bytes {offset}..{offset + size} lie past the end of {key} "
                               f"({info.st_size} bytes)")
        if _unlocked(fd):
            raise Unsupported(f"region {name}: nobody holds {key} locked; the registering client must hold a "
                              f"shared lock (flock LOCK_SH) on it while the region is in use")
        page = offset - offset % mmap.ALLOCATIONGRANULARITY
        mapped = mmap.mmap(fd, offset + size - page, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE, offset=page)
        return Region(name, key, offset, size, fd, mapped, offset - page)
    except BaseException:
        os.close(fd)
        raise


def _unlocked(fd: int) -> bool:
    """No other descriptor holds a lock on fd's file (this one can take it exclusively, and gives it back)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    fcntl.flock(fd, fcntl.LOCK_UN)
    return True
