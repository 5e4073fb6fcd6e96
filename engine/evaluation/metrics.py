"""Clustering and agreement metrics for `hearth evaluate`.

Pairwise metrics count record pairs placed together: computed from the contingency table of
(predicted cluster, true cluster) sizes, so a million records cost a dictionary pass, not n² pairs.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Hashable, Mapping


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


@dataclass(frozen=True)
class PairwiseScores:
    true_positives: int
    predicted_pairs: int
    true_pairs: int

    @property
    def precision(self) -> float:
        return self.true_positives / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def pairwise_scores(predicted: Mapping[Hashable, Hashable], truth: Mapping[Hashable, Hashable]) -> PairwiseScores:
    """Pairwise precision/recall of a clustering, over the items present in both mappings.

    >>> s = pairwise_scores({"a": 1, "b": 1, "c": 2}, {"a": "x", "b": "x", "c": "x"})
    >>> (s.true_positives, s.predicted_pairs, s.true_pairs)
    (1, 1, 3)
    """
    items = predicted.keys() & truth.keys()
    cells = Counter((predicted[i], truth[i]) for i in items)
    pred_sizes = Counter(predicted[i] for i in items)
    true_sizes = Counter(truth[i] for i in items)
    return PairwiseScores(
        true_positives=sum(_pairs(n) for n in cells.values()),
        predicted_pairs=sum(_pairs(n) for n in pred_sizes.values()),
        true_pairs=sum(_pairs(n) for n in true_sizes.values()),
    )


def exact_cluster_rate(predicted: Mapping[Hashable, Hashable], truth: Mapping[Hashable, Hashable]) -> float:
    """Share of true clusters reproduced exactly (same members) by one predicted cluster."""
    items = predicted.keys() & truth.keys()
    true_members: dict[Hashable, set] = {}
    pred_members: dict[Hashable, set] = {}
    for i in items:
        true_members.setdefault(truth[i], set()).add(i)
        pred_members.setdefault(predicted[i], set()).add(i)
    if not true_members:
        return 1.0
    exact = sum(1 for members in true_members.values() if pred_members[predicted[next(iter(members))]] == members)
    return exact / len(true_members)


def agreement(predicted: Mapping[Hashable, str], truth: Mapping[Hashable, str]) -> float:
    """Share of keys present in both where the two labels agree (e.g. eligibility met/not_met/unknown)."""
    keys = predicted.keys() & truth.keys()
    if not keys:
        return 1.0
    return sum(1 for k in keys if predicted[k] == truth[k]) / len(keys)
