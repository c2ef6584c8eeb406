"""Read a PyTorch legacy (pre-zip) ``.pth`` state dict into numpy, without torch.

The legacy format is a sequence of pickles — magic number, protocol version,
system info, the state dict, the list of storage keys — followed by each
storage's raw little-endian bytes (an int64 element count, then the data) in
the order of that list. Tensors in the state dict refer to storages through
persistent ids and are rebuilt by ``torch._utils._rebuild_tensor_v2``.

Unpickling is restricted to exactly those names: a weights file can never
make this reader import or call anything else.
"""

from __future__ import annotations

import collections
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

__all__ = ["load_state_dict", "UnsafeWeightsError"]

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001

_STORAGE_DTYPES = {
    "FloatStorage": np.dtype("<f4"),
    "DoubleStorage": np.dtype("<f8"),
    "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"),
    "IntStorage": np.dtype("<i4"),
    "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"),
    "ByteStorage": np.dtype("u1"),
    "BoolStorage": np.dtype("?"),
}


class UnsafeWeightsError(pickle.UnpicklingError):
    """The file asks to load something other than tensors and storages."""


@dataclass(frozen=True)
class _StorageType:
    dtype: np.dtype


@dataclass
class _LazyTensor:
    key: str
    offset: int
    size: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor_v2(storage_key, storage_offset, size, stride, requires_grad=False, backward_hooks=None, *rest):
    return _LazyTensor(storage_key, int(storage_offset), tuple(size), tuple(stride))


class _Unpickler(pickle.Unpickler):
    def __init__(self, f: BinaryIO, storages: dict[str, tuple[np.dtype, int]]):
        super().__init__(f)
        self._storages = storages

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(_STORAGE_DTYPES[name])
        raise UnsafeWeightsError(f"weights file refers to {module}.{name}; only tensors and storages are allowed")

    def persistent_load(self, pid: Any) -> str:
        # ('storage', storage_type, key, location, numel, view_metadata)
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage" and isinstance(pid[1], _StorageType)):
            raise UnsafeWeightsError(f"unexpected persistent id {pid!r}")
        key = str(pid[2])
        self._storages.setdefault(key, (pid[1].dtype, int(pid[4])))
        return key


def load_state_dict(path: Path) -> dict[str, np.ndarray]:
    """Read a legacy-format ``.pth`` file into {name: numpy array}."""
    storages: dict[str, tuple[np.dtype, int]] = {}
    with open(path, "rb") as f:
        magic = _Unpickler(f, storages).load()
        if magic != MAGIC_NUMBER:
            raise pickle.UnpicklingError(f"{path}: not a legacy PyTorch file (magic {magic!r}); zip-format files are not supported")
        version = _Unpickler(f, storages).load()
        if version != PROTOCOL_VERSION:
            raise pickle.UnpicklingError(f"{path}: protocol version {version}, expected {PROTOCOL_VERSION}")
        _Unpickler(f, storages).load()  # system info: endianness, type sizes
        state = _Unpickler(f, storages).load()
        keys = _Unpickler(f, storages).load()
        data: dict[str, np.ndarray] = {}
        for key in keys:
            dtype, numel = storages[str(key)]
            (count,) = struct.unpack("<q", f.read(8))
            if count != numel:
                raise pickle.UnpicklingError(f"{path}: storage {key} holds {count} elements, state dict says {numel}")
            raw = f.read(count * dtype.itemsize)
            if len(raw) != count * dtype.itemsize:
                raise pickle.UnpicklingError(f"{path}: truncated in storage {key}")
            data[str(key)] = np.frombuffer(raw, dtype=dtype)
    out = {}
    for name, t in state.items():
        if not isinstance(t, _LazyTensor):
            raise UnsafeWeightsError(f"{path}: entry {name!r} is not a tensor")
        storage = data[t.key]
        itemsize = storage.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(
            storage[t.offset:], shape=t.size, strides=tuple(s * itemsize for s in t.stride), writeable=False
        )
        out[name] = np.array(view)  # own the memory, contiguous
    return out
