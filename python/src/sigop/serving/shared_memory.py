"""Shared-memory regions: files in one directory that clients on the same host pass tensors through.

A client writes its signals into a file under the directory (``/dev/shm``),
registers it, and sends only the region's name, offset and size; the server
reads the range into its own buffer with one ``preadv`` and writes its
answer back with one ``pwritev``, so an 8 MiB signal never goes through
HTTP/2 and protobuf.

The server never maps a client's file. A mapping reads the file's pages
directly, and a client that shrinks its file under it turns the server's next
read of those pages into SIGBUS, which kills the process whatever Python
does; a system call on a shrunk file returns fewer bytes instead, and the
call is refused. A call holds its region (the descriptor) until it is done,
so unregistering or sweeping it cannot close a descriptor a call still reads
or let its number be reused under it.

Every region is bounded: its name and key are checked, its file must be a
regular file in the directory (no symlink, no path), its range must lie
inside the file, and the server holds at most ``max_regions`` of them and
``max_bytes`` in total. A client holds a shared ``flock`` on its file while
it uses the region; a file nobody holds locked any more belongs to a client
that has gone, and its region is released (on every register and status
call, and by ``sweep``).
"""

from __future__ import annotations

import fcntl
import os
import re
import stat
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from ..inputs import InvalidInput, Unsupported
from ..limits import MiB, OverBudget, clip
from .errors import ModelNotFound

__all__ = ["SharedMemoryConfig", "SharedMemory", "Region", "RegionExists", "RegionNotFound"]

_NAME = re.compile(r"[A-Za-z0-9._-]{1,128}")
_KEY = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,254}")
_IO_CHUNK = 1 << 30  # bytes per system call: Linux moves at most 2 GiB - 4 KiB in one


class RegionExists(Exception):
    """A region of that name is registered already (ALREADY_EXISTS)."""


class RegionNotFound(ModelNotFound):
    """No region of that name is registered (NOT_FOUND)."""


@dataclass(frozen=True)
class SharedMemoryConfig:
    """Where regions' files must be, and how many of them, of how many bytes in all, the server holds at once."""

    directory: Path | None = None  # None: shared memory is not offered
    max_regions: int = 64
    max_bytes: int = 2048 * MiB

    @property
    def enabled(self) -> bool:
        return self.directory is not None


@dataclass
class Region:
    """One registered range of a file, open; closed when released and no call uses it any more."""

    name: str
    key: str
    offset: int
    size: int
    fd: int
    users: int = 0  # calls using fd now (guarded by the registry's lock)
    released: bool = False  # out of the registry: the last user closes fd

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
        """Take the region out of the registry; calls using it finish with it, and the last closes it."""
        with self._lock:
            region = self._regions.pop(name, None)
            if region is None:
                raise RegionNotFound(f"no shared-memory region named {clip(name)} is registered")
            _retire(region)

    def status(self) -> list[Region]:
        self.sweep()
        with self._lock:
            return sorted(self._regions.values(), key=lambda r: r.name)

    def sweep(self) -> int:
        """Release the regions whose client has gone; how many."""
        with self._lock:
            gone = [self._regions.pop(name) for name, r in list(self._regions.items()) if r.abandoned()]
            for r in gone:
                _retire(r)
        return len(gone)

    def read(self, ref, nbytes: int, field: str) -> np.ndarray:
        """The float64 values at ``ref`` (a SharedMemoryRef: region, offset, byte_size), copied into a read-only
        array of the server's own; ``nbytes`` is what the caller's shape needs."""
        if ref.byte_size != nbytes:
            raise InvalidInput(f"{field}: shared-memory byte_size {ref.byte_size}; its shape needs {nbytes} bytes")
        x = np.empty(nbytes // 8, dtype="<f8")
        with self._use(ref, field) as region:
            got = _transfer(os.preadv, region.fd, memoryview(x).cast("B"), region.offset + ref.offset)
        if got < nbytes:
            raise InvalidInput(f"{field}: region {region.name}'s file ends {got} bytes into the range: it is "
                               f"shorter than when it was registered")
        x.flags.writeable = False
        return x

    def write(self, ref, parts: list[np.ndarray], field: str) -> list[tuple[int, int]]:
        """Write the arrays one after the other into ``ref``'s range; each one's (offset, byte_size) there."""
        sizes = [8 * x.size for x in parts]
        if sum(sizes) > ref.byte_size:
            raise InvalidInput(f"{field}: shared-memory byte_size {ref.byte_size} is too small; the answer needs "
                               f"{sum(sizes)} bytes")
        placed, offset = [], ref.offset
        with self._use(ref, field) as region:
            for x, size in zip(parts, sizes):
                data = memoryview(np.ascontiguousarray(x, dtype="<f8")).cast("B")
                try:
                    _transfer(os.pwritev, region.fd, data, region.offset + offset)
                except OSError as e:  # the file system is full (a Kubernetes emptyDir's sizeLimit), for one
                    raise InvalidInput(f"{field}: cannot write into region {region.name}'s file: {e.strerror}") from None
                placed.append((offset, size))
                offset += size
        return placed

    @contextmanager
    def _use(self, ref, field: str) -> Iterator[Region]:
        """The region ``ref`` names, with its whole range checked, held open until the block is done."""
        self._offered()
        with self._lock:
            region = self._regions.get(ref.region)
            if region is not None:
                region.users += 1
        if region is None:
            raise RegionNotFound(f"{field}: no shared-memory region named {clip(ref.region)} is registered "
                                 f"(register it, or send the values in content)")
        try:
            if ref.offset % 8:
                raise InvalidInput(f"{field}: shared-memory offset {ref.offset} is not a multiple of 8")
            if ref.offset + ref.byte_size > region.size:
                raise InvalidInput(f"{field}: bytes {ref.offset}..{ref.offset + ref.byte_size} lie past the end of "
                                   f"region {region.name} ({region.size} bytes)")
            yield region
        finally:
            with self._lock:
                region.users -= 1
                if region.released and not region.users:
                    os.close(region.fd)

    def close(self) -> None:
        with self._lock:
            for r in self._regions.values():
                _retire(r)
            self._regions = {}


def _retire(region: Region) -> None:
    """A region taken out of the registry (its lock held): closed now if no call uses it, else by the last one."""
    region.released = True
    if not region.users:
        os.close(region.fd)


def _transfer(call, fd: int, view: memoryview, at: int) -> int:
    """Bytes moved between ``view`` and the file from offset ``at`` by ``call`` (os.preadv or os.pwritev), in
    calls of at most _IO_CHUNK, until all are or the file ends."""
    done = 0
    while done < len(view):
        n = call(fd, [view[done:done + _IO_CHUNK]], at + done)
        if n == 0:
            break
        done += n
    return done


def _open(directory: Path, name: str, key: str, offset: int, size: int) -> Region:
    """Open ``key`` in ``directory``, refusing anything but a regular file there, locked by its client."""
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
        return Region(name, key, offset, size, fd)
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
