"""Issue 37: clients that misuse their shared-memory regions against a real `sigop serve`.

A client may shrink its file while the server reads or writes it, unregister
a region while its own calls use it, or drop its lock while a status call
sweeps; none of it may kill the server or surface as INTERNAL. Each test
ends by checking that the server still answers a plain FFT correctly.
"""

from __future__ import annotations

import fcntl
import os
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import numpy as np
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from sigop.operator.v1 import operator_pb2 as pb
from sigop.operator.v1 import operator_pb2_grpc as pb_grpc
from sigop.serving.process import ServerProcess

SIGOP = str(Path(sys.executable).with_name("sigop"))
DOCUMENTED = {grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND}


@pytest.fixture(scope="module")
def shm_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("shm")


@pytest.fixture(scope="module")
def server(fft_graph_dir, shm_dir):
    graphs = fft_graph_dir.parent
    with ServerProcess(SIGOP, graphs, "--allow-shared-memory", "--shared-memory-dir", str(shm_dir),
                       "--poll-seconds", "0", "--log-level", "WARNING") as s:
        yield s


@pytest.fixture
def stub(server):
    with grpc.insecure_channel(server.address) as channel:
        yield pb_grpc.OperatorStub(channel)


def held(directory: Path, name: str, size: int) -> int:
    """A file of size bytes this process holds a shared lock on, as a registering client does."""
    fd = os.open(directory / name, os.O_RDWR | os.O_CREAT, 0o600)
    os.ftruncate(fd, size)
    fcntl.flock(fd, fcntl.LOCK_SH)
    return fd


def register(stub, name: str, size: int) -> None:
    stub.RegisterSharedMemory(pb.RegisterSharedMemoryRequest(
        region=pb.SharedMemoryRegion(name=name, key=name, byte_size=size)))


def fft_through(stub, region: str, n: int, output: bool = True) -> grpc.StatusCode:
    """An FFT of n samples read from the region's start, its magnitudes written after them; the call's code."""
    request = pb.FFTRequest(signals=pb.Float64Tensor(
        shape=[n], shared_memory=pb.SharedMemoryRef(region=region, byte_size=8 * n)))
    if output:
        request.output.CopyFrom(pb.SharedMemoryRef(region=region, offset=8 * n, byte_size=8 * (n // 2 + 1)))
    try:
        stub.FFT(request, timeout=120)
        return grpc.StatusCode.OK
    except grpc.RpcError as e:
        return e.code()


def still_serving(server: ServerProcess, stub) -> None:
    assert server.proc.poll() is None, f"the server died (exit {server.proc.returncode}); log:\n" + \
        "\n".join(server.log[-20:])
    with grpc.insecure_channel(server.address) as channel:
        health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=30)
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    x = np.sin(np.arange(256) * 0.3)
    reply = stub.FFT(pb.FFTRequest(signals=pb.Float64Tensor(shape=[256], content=x.astype("<f8").tobytes())))
    np.testing.assert_allclose(np.frombuffer(reply.magnitude.content, "<f8"), np.abs(np.fft.rfft(x)), atol=1e-9)


def test_a_file_truncated_while_the_server_reads_and_writes_it(server, stub, shm_dir):
    """The issue's probe: 2^20 samples in, 2^19 + 1 magnitudes out, the file cut to nothing and restored
    every ~2 ms. Reading or writing a mapping past its file's end was SIGBUS: the server died on the second call."""
    n = 1 << 20
    size = 8 * n + 8 * (n // 2 + 1)
    fd = held(shm_dir, "cut", size)
    os.pwrite(fd, np.random.default_rng(0).standard_normal(n).astype("<f8").tobytes(), 0)
    register(stub, "cut", size)
    stop = threading.Event()

    def cut_and_restore():
        while not stop.is_set():
            os.ftruncate(fd, 0)
            time.sleep(0.001)
            os.ftruncate(fd, size)
            time.sleep(0.001)

    cutter = threading.Thread(target=cut_and_restore)
    cutter.start()
    try:
        codes = Counter(fft_through(stub, "cut", n) for _ in range(30))
    finally:
        stop.set()
        cutter.join()
    assert set(codes) <= DOCUMENTED, codes
    assert codes[grpc.StatusCode.INVALID_ARGUMENT] > 0, codes  # some calls must have met a short file
    still_serving(server, stub)
    stub.UnregisterSharedMemory(pb.UnregisterSharedMemoryRequest(name="cut"))
    os.close(fd)


@pytest.mark.parametrize("how", ["unregister", "sweep"])
def test_calls_racing_their_region_going_away(server, stub, shm_dir, how):
    """Three threads call FFT through a region while a fourth unregisters and re-registers it, or drops and
    retakes its lock while SharedMemoryStatus sweeps. A call finds its region or NOT_FOUND, never INTERNAL."""
    n = 1024
    size = 8 * n + 8 * (n // 2 + 1)
    name = f"race-{how}"
    fd = held(shm_dir, name, size)
    os.pwrite(fd, np.ones(n, "<f8").tobytes(), 0)
    register(stub, name, size)
    stop = threading.Event()

    def churn():
        while not stop.is_set():
            if how == "unregister":
                stub.UnregisterSharedMemory(pb.UnregisterSharedMemoryRequest(name=name))
            else:
                fcntl.flock(fd, fcntl.LOCK_UN)
                regions = stub.SharedMemoryStatus(pb.SharedMemoryStatusRequest()).regions
                fcntl.flock(fd, fcntl.LOCK_SH)
                if any(r.name == name for r in regions):
                    continue
            register(stub, name, size)

    def calls(_):
        return Counter(fft_through(stub, name, n) for _ in range(1000))

    churner = threading.Thread(target=churn)
    churner.start()
    try:
        with ThreadPoolExecutor(3) as pool:
            codes = sum(pool.map(calls, range(3)), Counter())
    finally:
        stop.set()
        churner.join()
    assert set(codes) <= {grpc.StatusCode.OK, grpc.StatusCode.NOT_FOUND}, codes
    assert codes[grpc.StatusCode.OK] > 0, codes
    still_serving(server, stub)
    os.close(fd)


def test_an_output_range_outside_its_region_is_refused(server, stub, shm_dir):
    size = 64 << 10
    fd = held(shm_dir, "small", size)
    register(stub, "small", size)
    signals = pb.Float64Tensor(shape=[1024], shared_memory=pb.SharedMemoryRef(region="small", byte_size=8192))
    for offset, byte_size in ((8192, (1 << 64) - 1), (size - 8, 8 * 513), ((1 << 63), 8 * 513)):
        with pytest.raises(grpc.RpcError) as e:
            stub.FFT(pb.FFTRequest(signals=signals, output=pb.SharedMemoryRef(
                region="small", offset=offset, byte_size=byte_size)))
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (offset, byte_size, e.value.details())
        assert "past the end of region small" in e.value.details()
    still_serving(server, stub)
    stub.UnregisterSharedMemory(pb.UnregisterSharedMemoryRequest(name="small"))
    os.close(fd)
