import collections
import pickle
import struct

import numpy as np
import pytest

from sigop.training.backbones import mobilenet_v2_weights_path
from sigop.training.backbones.torch_legacy import MAGIC_NUMBER, PROTOCOL_VERSION, UnsafeWeightsError, load_state_dict


def test_reads_torchvision_mobilenet_v2():
    state = load_state_dict(mobilenet_v2_weights_path())
    assert len(state) == 314
    assert sum(v.size for v in state.values()) == 3_539_036
    assert state["features.0.0.weight"].shape == (32, 3, 3, 3) and state["features.0.0.weight"].dtype == np.float32
    assert state["classifier.1.weight"].shape == (1000, 1280)
    assert state["features.0.1.num_batches_tracked"].dtype == np.int64


class _Storage:  # pickles as a reference to torch.FloatStorage without torch
    pass


_Storage.__module__, _Storage.__qualname__ = "torch", "FloatStorage"


def _legacy_file(path, state_pickle: bytes, keys, storages: dict[str, np.ndarray]):
    with open(path, "wb") as f:
        for obj in (MAGIC_NUMBER, PROTOCOL_VERSION, {"little_endian": True}):
            pickle.dump(obj, f, protocol=2)
        f.write(state_pickle)
        pickle.dump(keys, f, protocol=2)
        for k in keys:
            f.write(struct.pack("<q", storages[k].size) + storages[k].astype("<f4").tobytes())


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        return ("storage", _Storage, obj.key, "cpu", obj.numel, None) if isinstance(obj, _Ref) else None


class _Ref:
    def __init__(self, key, numel):
        self.key, self.numel = key, numel


class _Rebuild:
    def __init__(self, ref, offset, size, stride):
        self.args = (ref, offset, size, stride, False, collections.OrderedDict())

    def __reduce__(self):
        return (_rebuild_tensor_v2, self.args)


def _rebuild_tensor_v2(*args):  # stands in for torch's in the pickle
    raise AssertionError("never called")


_rebuild_tensor_v2.__module__ = "torch._utils"


@pytest.fixture
def fake_torch(monkeypatch):
    """Just enough of a `torch` module for pickle to name its globals (it checks they import)."""
    import sys
    import types

    torch, utils = types.ModuleType("torch"), types.ModuleType("torch._utils")
    torch.FloatStorage, utils._rebuild_tensor_v2 = _Storage, _rebuild_tensor_v2
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)


def _dumps(obj) -> bytes:
    import io

    buf = io.BytesIO()
    _Pickler(buf, protocol=2).dump(obj)
    return buf.getvalue()


def test_strided_views_and_offsets(tmp_path, fake_torch):
    data = np.arange(12, dtype=np.float32)
    ref = _Ref("0", 12)
    state = collections.OrderedDict(
        a=_Rebuild(ref, 0, (3, 4), (4, 1)),
        t=_Rebuild(ref, 0, (4, 3), (1, 4)),  # a transposed view of the same storage
        tail=_Rebuild(ref, 10, (2,), (1,)),
    )
    _legacy_file(tmp_path / "w.pth", _dumps(state), ["0"], {"0": data})
    out = load_state_dict(tmp_path / "w.pth")
    np.testing.assert_array_equal(out["a"], data.reshape(3, 4))
    np.testing.assert_array_equal(out["t"], data.reshape(3, 4).T)
    np.testing.assert_array_equal(out["tail"], [10, 11])


class _Evil:
    def __reduce__(self):
        import os

        return (os.system, ("echo pwned",))


def test_refuses_anything_but_tensors(tmp_path):
    _legacy_file(tmp_path / "evil.pth", pickle.dumps({"x": _Evil()}, protocol=2), [], {})
    with pytest.raises(UnsafeWeightsError, match="system"):
        load_state_dict(tmp_path / "evil.pth")


def test_refuses_truncated_and_foreign_files(tmp_path, fake_torch):
    data = np.arange(4, dtype=np.float32)
    state = collections.OrderedDict(w=_Rebuild(_Ref("0", 4), 0, (4,), (1,)))
    _legacy_file(tmp_path / "w.pth", _dumps(state), ["0"], {"0": data})
    whole = (tmp_path / "w.pth").read_bytes()
    (tmp_path / "short.pth").write_bytes(whole[:-3])
    with pytest.raises(pickle.UnpicklingError, match="truncated"):
        load_state_dict(tmp_path / "short.pth")
    (tmp_path / "other.pth").write_bytes(pickle.dumps(12345))
    with pytest.raises(pickle.UnpicklingError, match="not a legacy PyTorch file"):
        load_state_dict(tmp_path / "other.pth")
