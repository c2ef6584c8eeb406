import numpy as np
import pytest

from sigop.render import SpectrumContract, magnitude_to_image, render_signal


def test_image_shape_dtype_and_values():
    c = SpectrumContract(n=256, width=64, height=32)
    img = render_signal(np.random.default_rng(0).standard_normal((3, 256)), c)
    assert img.shape == (3, 32, 64) and img.dtype == np.uint8
    assert set(np.unique(img)) <= {0, 255}


def test_a_tone_lights_the_column_its_bin_maps_to():
    c = SpectrumContract(n=1024, width=128, height=64, db_floor=-20, db_ceiling=80)
    t = np.arange(1024)
    for k in (10, 100, 400):
        img = render_signal(np.cos(2 * np.pi * k * t / 1024), c)[0]
        heights = (img == 255).sum(axis=0)
        starts = np.arange(128) * 513 // 128  # column c covers bins starts[c] .. starts[c+1]-1
        assert np.argmax(heights) == np.searchsorted(starts, k, side="right") - 1
        assert heights.max() == round((20 * np.log10(512) + 20) / 100 * 64)  # |X[k]| = n/2 = 512


def test_levels_are_clipped_to_the_db_range():
    c = SpectrumContract(n=8, width=5, height=10, db_floor=0, db_ceiling=20)
    m = np.array([[1e-9, 1.0, np.sqrt(10), 10.0, 1e9]])  # -180, 0, 10, 20, 180 dB
    heights = (magnitude_to_image(m, c)[0] == 255).sum(axis=0)
    assert heights.tolist() == [0, 0, 5, 10, 10]


def test_max_bin_spreads_the_drawn_bins_over_the_width():
    c = SpectrumContract(n=64, width=20, height=8, max_bin=10, db_floor=0, db_ceiling=20)
    m = np.full((1, 33), 1e-3)
    m[0, 9] = 10.0  # last drawn bin
    m[0, 20] = 10.0  # beyond max_bin: not drawn
    heights = (magnitude_to_image(m, c)[0] == 255).sum(axis=0)
    assert heights[18:].tolist() == [8, 8] and heights[:18].max() == 0


def test_contract_mismatches_are_errors():
    c = SpectrumContract(n=16)
    with pytest.raises(ValueError, match="expects 9"):
        magnitude_to_image(np.zeros((1, 8)), c)
    with pytest.raises(ValueError, match="version 2"):
        SpectrumContract.from_json({**c.to_json(), "version": 2})


def test_signals_of_other_lengths_are_padded_or_cut_to_n():
    c = SpectrumContract(n=64, width=16, height=16)
    x = np.random.default_rng(1).standard_normal(80)
    np.testing.assert_array_equal(render_signal(x[:50], c), render_signal(np.pad(x[:50], (0, 14)), c))
    np.testing.assert_array_equal(render_signal(x, c), render_signal(x[:64], c))


def test_relative_level_draws_quiet_and_loud_signals_alike_and_absolute_does_not():
    t = np.arange(256)
    x = np.sin(2 * np.pi * 20 * t / 256) + 0.1 * np.sin(2 * np.pi * 50 * t / 256)
    relative = SpectrumContract(n=256, width=32, height=32, level="relative")
    absolute = SpectrumContract(n=256, width=32, height=32)
    np.testing.assert_array_equal(render_signal(1e-5 * x, relative), render_signal(1e3 * x, relative))
    assert render_signal(1e-5 * x, absolute).max() == 0  # blank on 0-80 dB: why relative exists
    assert (render_signal(1e-5 * x, relative) == 255).any()
    assert render_signal(np.zeros(256), relative).max() == 0  # silence stays blank, not NaN
    with pytest.raises(ValueError, match="level"):
        SpectrumContract(level="loud")
