import numpy as np
import pytest

from sigop.operator.v1 import operator_pb2 as pb
from sigop.inputs import InvalidInput
from sigop.serving.wire import decode_signals, encode_into


def tensor(shape, values=None, content=None):
    if content is None:
        content = np.asarray(values if values is not None else [], dtype="<f8").tobytes()
    return pb.Float64Tensor(shape=shape, content=content)


def decode(t, max_length=1000, max_batch=10):
    return decode_signals(t, max_length=max_length, max_batch=max_batch)


def test_decodes_1d_and_2d_without_copy():
    x, one_d = decode(tensor([3], [1.0, 2.0, 3.0]))
    assert one_d and x.shape == (1, 3) and x.tolist() == [[1, 2, 3]]
    assert not x.flags.writeable  # a view of the request's bytes, not a copy
    x, one_d = decode(tensor([2, 2], [1, 2, 3, 4]))
    assert not one_d and x.tolist() == [[1, 2], [3, 4]]


def test_byte_order_is_little_endian():
    content = np.array([1.5], dtype=">f8").tobytes()  # big-endian on the wire is a different number
    x, _ = decode(tensor([1], content=content))
    assert x[0, 0] != 1.5
    x, _ = decode(tensor([1], content=np.array([1.5], dtype="<f8").tobytes()))
    assert x[0, 0] == 1.5


@pytest.mark.parametrize(
    "t, match",
    [
        (tensor([]), "rank 0"),
        (tensor([1, 1, 1], [1.0]), "rank 3"),
        (tensor([0]), "empty"),
        (tensor([0, 5]), "empty"),
        (tensor([-2]), "negative"),
        (tensor([3], [1, np.nan, 3]), r"sample 1 is nan"),
        (tensor([2, 2], [1, 2, np.inf, 4]), r"signal 1, sample 0 is inf"),
        (tensor([2, 3], [1, 2, 3, 4, 5]), "needs 48"),
        (tensor([2], content=b"abc"), "needs 16"),
        (tensor([1001], np.zeros(1001)), "limit of 1000 samples"),
        (tensor([11, 1], np.zeros(11)), "limit of 10 signals"),
    ],
)
def test_rejects_bad_input_naming_what_was_expected(t, match):
    with pytest.raises(InvalidInput, match=match):
        decode(t)


def test_encode_round_trip():
    x = np.arange(6, dtype=float).reshape(2, 3) / 7
    t = pb.Float64Tensor()
    encode_into(t, x)
    assert list(t.shape) == [2, 3]
    y, _ = decode(t)
    np.testing.assert_array_equal(x, y)
    encode_into(t, x[:1], one_d=True)
    assert list(t.shape) == [3]


def test_a_sum_past_float64_is_checked_without_a_warning_in_the_server_log():
    import warnings

    from sigop.serving.signal_checks import check_finite

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's "overflow encountered in reduce" was printed on every such call
        check_finite(np.full((1, 4), 1e308), one_d=False)  # finite values whose sum is not: accepted
        with pytest.raises(InvalidInput, match="sample 2 is inf"):
            check_finite(np.array([[1e308, 1e308, np.inf]]), one_d=False)
