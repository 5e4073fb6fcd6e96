"""Scalar random draws for the generator's per-person loops.

numpy's ``Generator`` is fast for arrays but costs microseconds per scalar call; the loops over people
make millions of scalar draws, so they use Python's Mersenne Twister with the few numpy-style methods
they need. Seeded from the run's seed, so output stays deterministic.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from itertools import accumulate


class ScalarRandom(random.Random):
    """``random.Random`` plus numpy-like ``integers``, ``normal`` and weighted index draws."""

    def integers(self, low: int, high: int | None = None) -> int:
        return self.randrange(low) if high is None else self.randrange(low, high)

    def normal(self, mean: float = 0.0, sd: float = 1.0) -> float:
        return self.gauss(mean, sd)

    def index(self, cumulative: list[float]) -> int:
        """An index drawn with the weights whose running totals are ``cumulative``."""
        return min(bisect_right(cumulative, self.random() * cumulative[-1]), len(cumulative) - 1)


def cumulative(weights) -> list[float]:
    return list(accumulate(weights))
