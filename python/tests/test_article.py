import json

import numpy as np

from sigop.datasets.article import BLUE, CLASSES, RED, Params, generate


def test_matches_the_shared_vectors_go_reads(repo):
    shared = json.loads((repo / "tests" / "vectors" / "article.json").read_text())
    assert [(c["name"], tuple(c["cycles"])) for c in shared["classes"]] == [(c.name, c.cycles) for c in CLASSES]
    p = Params()
    assert shared["params"] == {
        "n": p.n, "amplitudes": list(p.amplitudes), "cycle_jitter": p.cycle_jitter,
        "frequency_noise": p.frequency_noise, "amplitude_noise": p.amplitude_noise, "sample_noise": p.sample_noise,
    }


def test_tones_lie_in_their_class_bands():
    rng = np.random.default_rng(3)
    for cls in (RED, BLUE):
        for _ in range(20):
            mag = np.abs(np.fft.rfft(generate(cls, rng)))
            for j, c in enumerate(cls.cycles):
                lo, hi = c // 2 - 1, (c + 4) // 2 + 2
                assert lo <= lo + np.argmax(mag[lo:hi + 1]) <= hi
                assert mag[lo:hi + 1].max() > 0.25 * Params().amplitudes[j] * Params().n / 2


def test_seeded():
    a = generate(RED, np.random.default_rng(1))
    assert np.array_equal(a, generate(RED, np.random.default_rng(1)))
    assert not np.array_equal(a, generate(RED, np.random.default_rng(2)))
