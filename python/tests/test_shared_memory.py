"""The shared-memory registry: regions bounded, confined to their directory, released when their client goes."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys

import numpy as np
import pytest

from sigop.inputs import InvalidInput, Unsupported
from sigop.limits import OverBudget
from sigop.operator.v1 import operator_pb2 as pb
from sigop.serving.shared_memory import RegionExists, RegionNotFound, SharedMemory, SharedMemoryConfig


@pytest.fixture
def shm(tmp_path):
    registry = SharedMemory(SharedMemoryConfig(tmp_path, max_regions=3, max_bytes=3 * 8192))
    yield registry
    registry.close()


def held(directory, name: str, size: int) -> int:
    """A file of size bytes that this process holds a shared lock on, as a client does; its descriptor."""
    fd = os.open(directory / name, os.O_RDWR | os.O_CREAT, 0o600)
    os.ftruncate(fd, size)
    fcntl.flock(fd, fcntl.LOCK_SH)
    return fd


def test_reads_and_writes_through_the_file(shm, tmp_path):
    fd = held(tmp_path, "a", 8192)
    shm.register("a", "a", 0, 8192)
    os.pwrite(fd, np.arange(4, dtype="<f8").tobytes(), 64)
    x = shm.read(pb.SharedMemoryRef(region="a", offset=64, byte_size=32), 32, "signals")
    assert x.tolist() == [0, 1, 2, 3] and not x.flags.writeable
    os.pwrite(fd, np.zeros(4, "<f8").tobytes(), 64)
    assert x.tolist() == [0, 1, 2, 3]  # the server's own copy: a client rewriting its file cannot change it
    placed = shm.write(pb.SharedMemoryRef(region="a", offset=1024, byte_size=64),
                       [np.array([7.5, -1]), np.array([2.0])], "output")
    assert placed == [(1024, 16), (1040, 8)]
    assert np.frombuffer(os.pread(fd, 24, 1024), "<f8").tolist() == [7.5, -1, 2]


def test_a_region_at_an_offset_into_its_file(shm, tmp_path):
    fd = held(tmp_path, "f", 3 * 4096 + 200)
    os.pwrite(fd, np.array([3.25], "<f8").tobytes(), 4096 + 8)
    shm.register("r", "f", 4096, 2 * 4096 + 200)
    assert shm.read(pb.SharedMemoryRef(region="r", offset=8, byte_size=8), 8, "signals").tolist() == [3.25]


def test_not_offered_unless_allowed():
    off = SharedMemory(SharedMemoryConfig())
    with pytest.raises(Unsupported, match="--allow-shared-memory"):
        off.register("a", "a", 0, 8)
    with pytest.raises(Unsupported):
        off.read(pb.SharedMemoryRef(region="a", byte_size=8), 8, "signals")


@pytest.mark.parametrize("key", ["../a", "/etc/passwd", ".a", "..", "a/b", "", "x" * 300])
def test_keys_outside_the_directory_are_refused(shm, tmp_path, key):
    held(tmp_path, "a", 8)
    with pytest.raises(InvalidInput, match="plain name"):
        shm.register("r", key, 0, 8)


def test_symlinks_directories_and_missing_files_are_refused(shm, tmp_path):
    secret = tmp_path.parent / f"{tmp_path.name}-secret"
    secret.write_bytes(b"x" * 64)
    (tmp_path / "link").symlink_to(secret)
    (tmp_path / "dir").mkdir()
    for key, message in (("link", "cannot open"), ("dir", "cannot open|not a regular file"), ("gone", "no file")):
        with pytest.raises(InvalidInput, match=message):
            shm.register("r", key, 0, 8)
    assert shm.status() == []


def test_ranges_past_the_end_are_refused(shm, tmp_path):
    held(tmp_path, "a", 4096)
    with pytest.raises(InvalidInput, match="past the end"):
        shm.register("a", "a", 4000, 200)
    shm.register("a", "a", 0, 4096)
    for ref, nbytes in ((pb.SharedMemoryRef(region="a", offset=4096, byte_size=8), 8),
                        (pb.SharedMemoryRef(region="a", offset=1 << 62, byte_size=8), 8),
                        (pb.SharedMemoryRef(region="a", offset=0, byte_size=8192), 8192)):
        with pytest.raises(InvalidInput, match="past the end"):
            shm.read(ref, nbytes, "signals")
    for ref in (pb.SharedMemoryRef(region="a", offset=8, byte_size=(1 << 64) - 1),  # issue 37: was accepted
                pb.SharedMemoryRef(region="a", offset=4088, byte_size=16)):
        with pytest.raises(InvalidInput, match="past the end"):
            shm.write(ref, [np.zeros(1)], "output")
    with pytest.raises(InvalidInput, match="multiple of 8"):
        shm.read(pb.SharedMemoryRef(region="a", offset=4, byte_size=8), 8, "signals")
    with pytest.raises(InvalidInput, match="shape needs 16"):
        shm.read(pb.SharedMemoryRef(region="a", byte_size=8), 16, "signals")
    with pytest.raises(InvalidInput, match="too small"):
        shm.write(pb.SharedMemoryRef(region="a", byte_size=8), [np.zeros(2)], "output")
    with pytest.raises(RegionNotFound):
        shm.read(pb.SharedMemoryRef(region="b", byte_size=8), 8, "signals")


def test_a_file_shrunk_after_registering_is_refused(shm, tmp_path):
    fd = held(tmp_path, "a", 8192)
    shm.register("a", "a", 0, 8192)
    os.ftruncate(fd, 100)  # a mapping read past 100 bytes would be SIGBUS; a read returns short
    with pytest.raises(InvalidInput, match="ends 0 bytes into the range: it is shorter"):
        shm.read(pb.SharedMemoryRef(region="a", offset=4096, byte_size=8), 8, "signals")
    with pytest.raises(InvalidInput, match="ends 36 bytes into"):
        shm.read(pb.SharedMemoryRef(region="a", offset=64, byte_size=80), 80, "signals")


def test_a_region_unregistered_during_a_call_stays_open_until_the_call_is_done(shm, tmp_path):
    fd = held(tmp_path, "a", 64)
    os.pwrite(fd, np.array([1.5], "<f8").tobytes(), 0)
    shm.register("a", "a", 0, 64)
    ref = pb.SharedMemoryRef(region="a", byte_size=8)
    with shm._use(ref, "signals") as region:
        shm.unregister("a")
        assert os.fstat(region.fd).st_size == 64  # still this call's descriptor, not closed or reused
        assert shm.status() == []
    with pytest.raises(OSError):
        os.fstat(region.fd)  # closed by the call that used it last
    with pytest.raises(RegionNotFound):
        shm.read(ref, 8, "signals")
    shm.register("a", "a", 0, 64)
    assert shm.read(ref, 8, "signals").tolist() == [1.5]


def test_regions_are_bounded_in_number_and_bytes(shm, tmp_path):
    for name in "abc":
        held(tmp_path, name, 8192)
    shm.register("a", "a", 0, 8192)
    with pytest.raises(RegionExists):
        shm.register("a", "b", 0, 8)
    shm.register("b", "b", 0, 8192)
    with pytest.raises(OverBudget, match="over its limit"):
        shm.register("c", "c", 0, 8193)
    shm.register("c", "c", 0, 8192)
    held(tmp_path, "d", 8)
    with pytest.raises(OverBudget, match="3 shared-memory regions"):
        shm.register("d", "d", 0, 8)
    shm.unregister("a")
    shm.register("d", "d", 0, 8)
    assert [r.name for r in shm.status()] == ["b", "c", "d"]
    with pytest.raises(RegionNotFound):
        shm.unregister("a")


def test_a_file_nobody_holds_locked_is_refused(shm, tmp_path):
    (tmp_path / "a").write_bytes(b"\0" * 64)
    with pytest.raises(Unsupported, match="flock"):
        shm.register("a", "a", 0, 64)


def test_regions_of_a_client_that_died_are_released(shm, tmp_path):
    (tmp_path / "a").write_bytes(b"\0" * 64)
    client = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR); fcntl.flock(fd, fcntl.LOCK_SH); "
        "print('locked', flush=True); sys.stdin.read()"), str(tmp_path / "a")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert client.stdout.readline() == "locked\n"
    shm.register("a", "a", 0, 64)
    assert shm.sweep() == 0 and [r.name for r in shm.status()] == ["a"]
    client.kill()
    client.wait()
    assert [r.name for r in shm.status()] == []  # status sweeps first
    with pytest.raises(RegionNotFound):
        shm.read(pb.SharedMemoryRef(region="a", byte_size=8), 8, "signals")
