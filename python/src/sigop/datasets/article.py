"""The original article's device signals, as Go's signal package draws them.

What is identical in Go (go/signal/article.go) and here, and tested against
tests/vectors/article.json from both sides: the classes and their base
half-cycles per tone, the amplitudes, the jitter bound, the noise levels, the
default length and the formula. What differs: the random streams (Go's PCG
and numpy's PCG64 are seeded alike but draw differently), so the same seed
gives signals of the same class structure, not the same samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ArticleClass", "Params", "RED", "BLUE", "CLASSES", "generate"]


@dataclass(frozen=True)
class ArticleClass:
    name: str
    cycles: tuple[int, int, int]  # base half-cycles of each tone over the signal


RED = ArticleClass("red", (40, 120, 240))
BLUE = ArticleClass("blue", (48, 130, 252))
CLASSES = (BLUE, RED)  # label order


@dataclass(frozen=True)
class Params:
    n: int = 1024
    amplitudes: tuple[float, float, float] = (10.0, 5.0, 1.0)
    cycle_jitter: int = 5  # rng.integers(cycle_jitter) half-cycles added per tone
    frequency_noise: float = 0.25  # std of further half-cycles per tone
    amplitude_noise: float = 0.05  # relative std of each tone's amplitude
    sample_noise: float = 0.5  # std of white noise on every sample


def generate(cls: ArticleClass, rng: np.random.Generator, p: Params = Params()) -> np.ndarray:
    """One signal: sum_j A_j sin(theta_j + phi_j) + noise, as in the article.

    theta_j = linspace(0, (cycles_j + jitter + freq noise) * pi, n), phi_j
    uniform in [0, 2 pi).
    """
    out = np.zeros(p.n)
    for j in range(3):
        cycles = cls.cycles[j] + rng.integers(p.cycle_jitter) + p.frequency_noise * rng.standard_normal()
        theta = np.linspace(0.0, cycles * np.pi, p.n)
        phase = rng.random() * 2 * np.pi
        amp = p.amplitudes[j] * (1 + p.amplitude_noise * rng.standard_normal())
        out += amp * np.sin(theta + phase)
    return out + p.sample_noise * rng.standard_normal(p.n)
