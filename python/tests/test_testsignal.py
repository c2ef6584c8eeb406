import numpy as np

from sigop.datasets.testsignal import noise


def test_first_value_is_splitmix64_reference():
    # SplitMix64 seeded with 0 first outputs 0xE220A8397B1DCDAF.
    u = (0xE220A8397B1DCDAF >> 11) * 2.0**-53
    assert noise(1, 0)[0] == 2 * u - 1


def test_range_and_seed_dependence():
    x = noise(10_000, 42)
    assert x.min() >= -1 and x.max() < 1
    assert abs(x.mean()) < 0.05
    assert not np.array_equal(noise(16, 1), noise(16, 2))


def test_matches_the_inputs_written_in_the_vectors(vectors):
    for case in vectors["cases"]:
        if "input" in case:
            for r, row in enumerate(case["input"]):
                np.testing.assert_array_equal(noise(case["n"], case["seed"] + r), np.array(row))
