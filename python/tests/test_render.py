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
    with pytest.raises(ValueError, match="expects n=16"):
        render_signal(np.zeros(15), c)
    with pytest.raises(ValueError, match="expects 9"):
        magnitude_to_image(np.zeros((1, 8)), c)
    with pytest.raises(ValueError, match="version 2"):
        SpectrumContract.from_json({**c.to_json(), "version": 2})
