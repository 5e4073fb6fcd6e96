"""Pairwise clustering metrics and agreement, checked against brute-force pair counting."""

from __future__ import annotations

import itertools
import random

from engine.evaluation.metrics import agreement, exact_cluster_rate, pairwise_scores


def _brute(pred, truth):
    items = sorted(pred.keys() & truth.keys())
    tp = fp = fn = 0
    for a, b in itertools.combinations(items, 2):
        same_p, same_t = pred[a] == pred[b], truth[a] == truth[b]
        tp += same_p and same_t
        fp += same_p and not same_t
        fn += same_t and not same_p
    return tp, tp + fp, tp + fn


def test_pairwise_matches_brute_force_on_random_clusterings() -> None:
    """Contingency-table counting equals explicit pair enumeration."""
    rng = random.Random(7)
    for _ in range(30):
        n = rng.randint(1, 40)
        truth = {i: rng.randint(0, n // 3 + 1) for i in range(n)}
        pred = {i: rng.randint(0, n // 3 + 1) for i in range(n) if rng.random() > 0.1}
        s = pairwise_scores(pred, truth)
        assert (s.true_positives, s.predicted_pairs, s.true_pairs) == _brute(pred, truth)


def test_perfect_and_split_clusterings() -> None:
    """A perfect clustering scores 1.0; splitting a true cluster loses recall but not precision."""
    truth = {"a": 1, "b": 1, "c": 1, "d": 2}
    assert pairwise_scores(truth, truth).f1 == 1.0
    split = pairwise_scores({"a": 1, "b": 1, "c": 3, "d": 2}, truth)
    assert split.precision == 1.0 and abs(split.recall - 1 / 3) < 1e-9


def test_exact_cluster_rate_and_agreement() -> None:
    """Exact-cluster rate counts whole true clusters reproduced; agreement compares labels on shared keys."""
    truth = {"a": 1, "b": 1, "c": 2}
    assert exact_cluster_rate({"a": 9, "b": 9, "c": 8}, truth) == 1.0
    assert exact_cluster_rate({"a": 9, "b": 8, "c": 8}, truth) == 0.0
    assert agreement({"f1": "met", "f2": "not_met", "f3": "met"}, {"f1": "met", "f2": "met", "x": "met"}) == 0.5
