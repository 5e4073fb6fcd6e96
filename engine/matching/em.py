"""Estimating m and u probabilities without labels.

* ``u`` (how often a level occurs among pairs of *different* people) comes from a random sample of
  record pairs: almost all random pairs are non-matches, so level frequencies there are u.
* ``m`` (how often a level occurs among pairs of the *same* person) comes from expectation
  maximisation on the blocked candidate pairs, with u held fixed, one session per blocking rule. As in
  Splink, a session ignores the comparisons its rule blocks on (their agreement is forced by the
  rule, not evidence), and each comparison's m is the mean over the sessions that estimated it.
* Sessions blocked on where people live (address, postcode, UPRN) train nothing. Pairs sharing a
  home are mostly members of one household, and no remaining comparison separates "same person"
  from "same household" better than names do, so EM settles on the household as its match class and
  learns that a different given name is common among matches (m ~ 0.13 on a synthetic borough):
  a different given name then barely counts against a match. Sessions blocked on names, dates of
  birth or identifiers still train the location comparison.
* Two constraints on the "different" (last) level's m, applied after the sessions: it is at most
  its u (disagreeing is never evidence *for* a match; with a rare level such as "different postcode
  sector" in a one-sector borough, a pseudo-count m over a near-zero u would otherwise say so), and
  at most the comparison's ``max_disagreement_m`` where one is set (given name, date of birth; see
  comparisons.py). The mass taken off goes to the agreeing levels in proportion.
* The prior (probability that two random records match) is estimated last: EM over all candidate
  pairs with m and u fixed gives the expected number of matches, divided by all possible pairs.

EM runs on the distinct comparison patterns with their counts, so its cost does not grow with the
number of pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.matching import forked
from engine.matching.blocking import CandidatePairs
from engine.matching.comparisons import LOCATION_COLUMNS, Comparison
from engine.matching.levels import PairBatch
from engine.matching.records import RecordTable

PROBABILITY_FLOOR = 1e-6


#: below this many pairs per worker, forking costs more than it saves
MIN_PAIRS_PER_WORKER = 100_000
#: tasks per worker: a few each, so a worker given slow pairs (long addresses) does not hold up the rest
TASKS_PER_WORKER = 4
#: pairs compared in this process before forking, so that the caches every level builds on first use
#: (codes, spelling skeletons, sorted address words, ...) are built once and inherited by the workers
WARM_UP_PAIRS = 20_000


def comparison_levels(table: RecordTable, comparisons: list[Comparison], left, right, *, workers: int = 1
                      ) -> np.ndarray:
    """``gamma[k, c]``: the level index of pair k under comparison c.

    With ``workers`` > 1 and enough pairs, consecutive ranges of pairs are compared in forked
    processes and stacked in order. A pair's levels depend on its two records alone (scores are
    computed per distinct pair of values), so the result is the same for any number of workers.
    """
    return start_comparison_levels(table, [(comparisons, left, right)], workers).result()[0]


def start_comparison_levels(table: RecordTable, jobs: list[tuple[list[Comparison], np.ndarray, np.ndarray]],
                            workers: int) -> forked.Pending | forked.Ready:
    """The levels of several batches of pairs (``(comparisons, left, right)`` each), started in forked
    workers so that this process can do other work meanwhile; ``.result()`` is one gamma per batch.
    Computed here, before returning, when there are too few pairs to be worth forking."""
    jobs = [(comparisons, np.asarray(left), np.asarray(right)) for comparisons, left, right in jobs]
    if workers < 2 or sum(len(left) for _, left, _ in jobs) < 2 * MIN_PAIRS_PER_WORKER or not forked.can_fork():
        return forked.Ready([_comparison_levels(table, *job) for job in jobs])
    for comparisons, left, right in jobs:
        sample = np.linspace(0, len(left) - 1, min(WARM_UP_PAIRS, len(left))).astype(np.int64)
        _comparison_levels(table, comparisons, left[sample], right[sample])
    tasks = [(job, start, stop) for job, (_, left, _) in enumerate(jobs)
             for start, stop in forked.ranges(len(left), workers * TASKS_PER_WORKER)]

    def by_job(parts: list[np.ndarray]) -> list[np.ndarray]:
        return [np.concatenate([part for (j, *_), part in zip(tasks, parts) if j == job]) for job in range(len(jobs))]

    return forked.start_forked(_levels_of_range, tasks, workers, {"table": table, "jobs": jobs}, by_job)


def _levels_of_range(task: tuple[int, int, int]) -> np.ndarray:
    state = forked.shared()
    job, start, stop = task
    comparisons, left, right = state["jobs"][job]
    return _comparison_levels(state["table"], comparisons, left[start:stop], right[start:stop])


def _comparison_levels(table: RecordTable, comparisons: list[Comparison], left, right) -> np.ndarray:
    batch = PairBatch(table, np.asarray(left), np.asarray(right))
    gamma = np.zeros((len(batch), len(comparisons)), dtype=np.int8)
    for c, comparison in enumerate(comparisons):
        gamma[:, c] = comparison.assign(batch)
    return gamma


def random_pairs(n: int, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``size`` uniformly random pairs of distinct records (with replacement between pairs)."""
    left = rng.integers(0, n, size)
    right = rng.integers(0, n - 1, size)
    right = right + (right >= left)  # skip left itself
    return left, right


def estimate_u(gamma: np.ndarray, comparisons: list[Comparison]) -> list[np.ndarray]:
    """Level frequencies among non-null random pairs, smoothed by one pseudo-pair per level."""
    result = []
    for c, comparison in enumerate(comparisons):
        counts = np.bincount(gamma[:, c], minlength=len(comparison.levels)).astype(float)
        counts[0] = 0.0
        counts[1:] += 1.0
        u = counts / counts[1:].sum()
        u[0] = 1.0
        result.append(np.maximum(u, PROBABILITY_FLOOR))
    return result


def initial_m(comparison: Comparison) -> np.ndarray:
    """A starting point: most matches agree exactly, fewer fall in each weaker level."""
    levels = len(comparison.levels)
    m = np.array([0.0] + [0.5 ** (2 * i) for i in range(levels - 1)])
    m[1:] /= m[1:].sum()
    m[0] = 1.0
    return m


@dataclass
class EmResult:
    m: list[np.ndarray]
    trained_by: list[list[str]]
    sessions: list[dict]


def pattern_codes(gamma: np.ndarray, comparisons: list[Comparison]) -> np.ndarray:
    """One integer per pair naming its comparison pattern (its row of gamma), computed once per run."""
    codes = np.zeros(len(gamma), dtype=np.int64)
    for c, radix in enumerate(_radix(comparisons).tolist()):  # column by column: no pairs x comparisons temporary
        codes += gamma[:, c].astype(np.int64) * radix
    return codes


def _patterns(gamma: np.ndarray, codes: np.ndarray, positions: np.ndarray | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """The distinct patterns among the pairs at ``positions`` (all pairs when None), by code, with counts."""
    chosen = codes if positions is None else codes[positions]
    unique, first, counts = np.unique(chosen, return_index=True, return_counts=True)
    rows = first if positions is None else positions[first]
    return gamma[rows], counts.astype(float)


def _posterior(patterns, counts, m, u, active, prior) -> np.ndarray:
    log_ratio = np.full(len(patterns), np.log(prior / (1 - prior)))
    for c in active:
        log_ratio += np.log(m[c][patterns[:, c]]) - np.log(u[c][patterns[:, c]])
    return 1.0 / (1.0 + np.exp(-np.clip(log_ratio, -700, 700)))


def _m_step(patterns, counts, posterior, levels: int, c: int) -> np.ndarray:
    """New m for comparison c: expected matches per level, plus one pseudo-match per level.

    The pseudo-count (as for u) keeps a level never seen among a small set's matches from getting
    m ~ 0, which would make a single keying error veto an otherwise perfect match.
    """
    weight = counts * posterior
    m = np.bincount(patterns[:, c], weights=weight, minlength=levels)
    m[0] = 0.0
    m[1:] += 1.0
    m = np.maximum(m / m[1:].sum(), PROBABILITY_FLOOR)
    m[0] = 1.0
    return m


def expectation_maximisation(
    gamma: np.ndarray,
    candidates: CandidatePairs,
    comparisons: list[Comparison],
    u: list[np.ndarray],
    *,
    iterations: int = 40,
    tolerance: float = 1e-5,
    codes: np.ndarray | None = None,
) -> EmResult:
    """m per comparison: one EM session per blocking rule (see module docstring). ``codes`` are the
    pairs' :func:`pattern_codes` when the caller has them."""
    codes = pattern_codes(gamma, comparisons) if codes is None else codes
    sums = [np.zeros(len(c.levels)) for c in comparisons]
    trained_by: list[list[str]] = [[] for _ in comparisons]
    sessions = []
    for index, rule in enumerate(candidates.rules):
        if not rule.columns.isdisjoint(LOCATION_COLUMNS):
            sessions.append({"rule": rule.name, "pairs": int(candidates.from_rule(index).size),
                             "skipped": "blocked on location: cannot tell a person from a household"})
            continue
        active = [c for c, comp in enumerate(comparisons) if comp.columns.isdisjoint(rule.columns)]
        positions = candidates.from_rule(index)
        if positions.size < 10 or not active:
            continue
        patterns, counts = _patterns(gamma, codes, positions)
        m = [initial_m(comp) for comp in comparisons]
        prior = 0.1
        for iteration in range(iterations):
            post = _posterior(patterns, counts, m, u, active, prior)
            new_prior = float(np.clip((counts * post).sum() / counts.sum(), 1e-9, 1 - 1e-9))
            change = abs(new_prior - prior)
            for c in active:
                new = _m_step(patterns, counts, post, len(comparisons[c].levels), c)
                change = max(change, float(np.abs(new - m[c]).max()))
                m[c] = new
            prior = new_prior
            if change < tolerance:
                break
        sessions.append({"rule": rule.name, "pairs": int(positions.size), "iterations": iteration + 1,
                         "match_share": prior})
        for c in active:
            sums[c] += m[c]
            trained_by[c].append(rule.name)
    result = []
    for c, comp in enumerate(comparisons):
        m = sums[c] / len(trained_by[c]) if trained_by[c] else initial_m(comp)
        m[0] = 1.0
        result.append(cap_disagreement(m, comp, u[c]))
    return EmResult(m=result, trained_by=trained_by, sessions=sessions)


def cap_disagreement(m: np.ndarray, comparison: Comparison, u: np.ndarray) -> np.ndarray:
    """m with its last level capped (see module docstring), still summing to 1 over non-null levels."""
    ceiling = float(u[-1])
    if comparison.max_disagreement_m is not None:
        ceiling = min(ceiling, comparison.max_disagreement_m)
    if m[-1] <= ceiling or len(m) < 3:
        return m
    capped = m.copy()
    capped[1:-1] *= (1.0 - ceiling) / capped[1:-1].sum()
    capped[-1] = max(ceiling, PROBABILITY_FLOOR)
    return capped


def estimate_prior(
    gamma: np.ndarray, comparisons: list[Comparison], m, u, total_pairs: float, *, iterations: int = 50,
    codes: np.ndarray | None = None,
) -> tuple[float, float]:
    """``(prior among all pairs, expected matches)`` with m and u fixed."""
    codes = pattern_codes(gamma, comparisons) if codes is None else codes
    patterns, counts = _patterns(gamma, codes)
    active = list(range(len(comparisons)))
    share = 0.01
    for _ in range(iterations):
        post = _posterior(patterns, counts, m, u, active, share)
        new = float(np.clip((counts * post).sum() / counts.sum(), 1e-12, 1 - 1e-9))
        if abs(new - share) < 1e-9:
            break
        share = new
    expected = share * counts.sum()
    return float(np.clip(expected / max(total_pairs, 1.0), 1e-12, 0.5)), float(expected)


def _radix(comparisons: list[Comparison]) -> np.ndarray:
    sizes = [len(c.levels) for c in comparisons]
    radix = np.ones(len(sizes), dtype=np.int64)
    for i in range(len(sizes) - 2, -1, -1):
        radix[i] = radix[i + 1] * sizes[i + 1]
    return radix
