"""The matcher end to end: block, compare, estimate m/u, score, cluster.

>>> from engine.matching.records import RecordTable
>>> rows = [{"record_key": f"a:{i}", "given_name": g, "family_name": f, "date_of_birth": d}
...         for i, (g, f, d) in enumerate([("ANNE", "SMITH", "1980-01-02"), ("ANN", "SMITH", "1980-01-02")])]
>>> result = link(RecordTable.from_rows(rows))
>>> len(result.pairs.left)
1
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from engine.errors import DataError
from engine.matching import blocking, em
from engine.matching.clustering import ClusterResult, cluster, contains, pair_codes
from engine.matching.comparisons import Comparison, default_comparisons
from engine.matching.households import household_sample, household_u_from_levels
from engine.matching.listed_apart import listed_apart_mask
from engine.matching.namesakes import join_namesakes
from engine.matching.records import RecordTable
from engine.matching.scoring import MatchModel, match_weights, probability


@dataclass(frozen=True)
class LinkerSettings:
    """Defaults chosen to need no tuning; every value is stored with each match run."""

    match_threshold: float = 0.9
    review_low: float = 0.5
    max_block_size: int = 1000
    u_sample_pairs: int = 400_000
    em_iterations: int = 40
    seed: int = 20240401

    def __post_init__(self) -> None:
        if not 0 < self.review_low <= self.match_threshold < 1:
            raise ValueError(
                f"need 0 < review_low <= match_threshold < 1, got {self.review_low} and {self.match_threshold}"
            )


@dataclass
class Constraints:
    """Reviewers' decisions, as record-key pairs: confirmed pairs are forced links, rejected cannot link."""

    confirmed: set[tuple[str, str]] = field(default_factory=set)
    rejected: set[tuple[str, str]] = field(default_factory=set)


@dataclass
class ScoredPairs:
    left: np.ndarray
    right: np.ndarray
    gamma: np.ndarray
    weight: np.ndarray
    probability: np.ndarray


@dataclass
class LinkResult:
    table: RecordTable
    model: MatchModel
    pairs: ScoredPairs
    clusters: ClusterResult
    blocking_report: blocking.BlockingReport
    settings: LinkerSettings
    timings: dict[str, float]
    em_sessions: list[dict]
    expected_matches: float
    namesake_joins: list[dict] = field(default_factory=list)
    #: compared pairs that one source's extract lists as two people (:mod:`engine.matching.listed_apart`)
    listed_apart_pairs: int = 0

    @property
    def labels(self) -> np.ndarray:
        return self.clusters.labels

    def review_pairs(self) -> list[tuple[int, int, float, float]]:
        """Pairs in the review band whose records ended in different persons: (i, j, weight, prob)."""
        p = self.pairs
        band = (p.probability >= self.settings.review_low) & (p.probability < self.settings.match_threshold)
        band &= self.labels[p.left] != self.labels[p.right]
        return [
            (int(i), int(j), float(w), float(q))
            for i, j, w, q in zip(p.left[band], p.right[band], p.weight[band], p.probability[band])
        ]

    def params(self) -> dict:
        return {
            "settings": self.settings.__dict__,
            "model": self.model.to_params(),
            "blocking": self.blocking_report.summary(),
            "em_sessions": self.em_sessions,
            "expected_matches": self.expected_matches,
            "refused_merges": len(self.clusters.refused_merges),
            "namesake_joins": self.namesake_joins,
            "listed_apart_pairs": self.listed_apart_pairs,
            "timings_seconds": self.timings,
        }


@dataclass
class Samples:
    """Random pairs the model is estimated from, drawn before blocking so that their levels are
    compared in the workers while this process blocks: pairs for u, and the household correction's."""

    u_left: np.ndarray
    u_right: np.ndarray
    household: tuple[list[Comparison], np.ndarray, np.ndarray] | None

    @classmethod
    def draw(cls, table: RecordTable, comparisons: list[Comparison], settings: LinkerSettings) -> Samples:
        n = len(table)
        rng = np.random.default_rng(settings.seed)
        # 50 random pairs per record (at most u_sample_pairs): enough for a level as rare as an exact date
        # of birth (u ~ 1/30,000) to be seen several times even in a 5,000-record extract
        size = int(min(settings.u_sample_pairs, 50 * n, max(n * (n - 1) / 2, 1)))
        u_left, u_right = em.random_pairs(n, size, rng)
        return cls(u_left, u_right, household_sample(table, comparisons, rng))

    def start_levels(self, table: RecordTable, comparisons: list[Comparison], workers: int):
        """``.result()``: the levels of the u pairs and of the household pairs (None without them)."""
        jobs = [(comparisons, self.u_left, self.u_right)] + ([self.household] if self.household else [])
        return em.start_comparison_levels(table, jobs, workers)


def train(
    table: RecordTable,
    comparisons: list[Comparison],
    candidates: blocking.CandidatePairs,
    gamma: np.ndarray,
    settings: LinkerSettings,
    samples: Samples,
    sample_levels: list[np.ndarray],
) -> tuple[MatchModel, list[dict], float]:
    """Estimate u from random pairs, m by EM per blocking rule, then the prior (``sample_levels``:
    the levels of ``samples``' pairs, from :meth:`Samples.start_levels`)."""
    n = len(table)
    total_pairs = n * (n - 1) / 2
    u = em.estimate_u(sample_levels[0], comparisons)
    codes = em.pattern_codes(gamma, comparisons)
    fitted = em.expectation_maximisation(gamma, candidates, comparisons, u, iterations=settings.em_iterations,
                                         codes=codes)
    prior, expected = em.estimate_prior(gamma, comparisons, fitted.m, u, total_pairs, codes=codes)
    household = household_u_from_levels(samples.household[0], sample_levels[1]) if samples.household else {}
    model = MatchModel(comparisons, fitted.m, u, prior, fitted.trained_by, household)
    return model, fitted.sessions, expected


def link(
    table: RecordTable,
    settings: LinkerSettings = LinkerSettings(),
    constraints: Constraints | None = None,
    *,
    comparisons: list[Comparison] | None = None,
    rules: list[blocking.BlockingRule] | None = None,
    workers: int = 1,
    while_comparing: Callable[[], object] | None = None,
) -> LinkResult:
    """Match every record of ``table`` against every other (dedupe and link in one).

    ``workers`` > 1 compares pairs in that many forked processes; the result is the same for any
    number of workers. ``while_comparing`` is called once, while the workers compare the candidate
    pairs (after, with one worker): work of the caller's that does not depend on the link, done
    while this process would otherwise wait.
    """
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    comparisons = comparisons if comparisons is not None else default_comparisons(table)
    rules = rules if rules is not None else blocking.default_rules(table)
    if len(table) < 2 or not comparisons:
        raise DataError(
            f"matching needs at least two records and one identity field with values; got {len(table)} "
            "record(s) and no mapped field holding any value" if not comparisons else
            f"matching needs at least two records; got {len(table)}"
        )
    samples = Samples.draw(table, comparisons, settings)
    sampled = samples.start_levels(table, comparisons, workers)  # compared in the workers meanwhile
    try:
        candidates = blocking.block(table, rules, max_block_size=settings.max_block_size)
    finally:
        sample_levels = sampled.result()
    timings["blocking"] = time.perf_counter() - clock

    clock = time.perf_counter()
    comparing = em.start_comparison_levels(table, [(comparisons, candidates.left, candidates.right)], workers)
    try:
        if while_comparing is not None:
            while_comparing()
    finally:
        gamma = comparing.result()[0]
    timings["comparing"] = time.perf_counter() - clock

    clock = time.perf_counter()
    model, sessions, expected = train(table, comparisons, candidates, gamma, settings, samples, sample_levels)
    timings["training"] = time.perf_counter() - clock

    clock = time.perf_counter()
    weight = match_weights(model, table, gamma, candidates.left)
    prob = probability(weight)
    timings["scoring"] = time.perf_counter() - clock

    clock = time.perf_counter()
    index = {key: i for i, key in enumerate(table.keys)}
    constraints = constraints or Constraints()
    confirmed = _index_pairs(constraints.confirmed, index)
    rejected = _index_pairs(constraints.rejected, index)
    pairs = ScoredPairs(candidates.left, candidates.right, gamma, weight, prob)
    pairs = _with_decided_pairs(pairs, confirmed | rejected, table, model)
    # a source's own extract listing two records apart is a rejection no reviewer needs to make;
    # cannot-link pairs are kept as sorted codes (min * n + max): hundreds of thousands in a borough
    n = len(table)
    apart = listed_apart_mask(table, comparisons, candidates.left, candidates.right, gamma)
    apart = np.unique(candidates.left[apart] * n + candidates.right[apart])  # blocking gives left < right
    apart = apart[~contains(pair_codes(confirmed, n), apart)]
    cannot_link = np.union1d(pair_codes(rejected, n), apart)
    clusters = cluster(len(table), pairs.left, pairs.right, pairs.probability, settings.match_threshold,
                       confirmed=confirmed, rejected=cannot_link)
    joins = join_namesakes(table, pairs.left, pairs.right, pairs.probability,
                           _join_proposals(comparisons, pairs.gamma), clusters.labels, cannot_link)
    timings["clustering"] = time.perf_counter() - clock
    return LinkResult(table, model, pairs, clusters, candidates.report, settings, timings, sessions, expected,
                      joins, int(apart.size))


#: location levels that mean one home: a surname change is proposed only there
SHARED_HOME_LEVELS = ("same dwelling", "same postcode, home not on both")
#: family-name levels that propose a namesake join with the given name exact: the same name, or the
#: same name keyed or transliterated differently by another source (RAHMAN / REHMAN, NASSER / NAASER)
NEAR_SPELLINGS = ("exact match", "Damerau-Levenshtein <= 1", "same spelling skeleton")
#: given-name levels that are one name written another way (not a different name, not a swap)
OTHER_SPELLINGS = ("Damerau-Levenshtein <= 1", "same spelling skeleton", "Jaro-Winkler >= 0.9")


def _levels(comparison: Comparison, labels: tuple[str, ...]) -> list[int]:
    return [comparison.labels.index(label) for label in labels if label in comparison.labels]


def _join_proposals(comparisons: list[Comparison], gamma: np.ndarray) -> dict[str, np.ndarray]:
    """Per kind of join (see :mod:`engine.matching.namesakes`), the pairs that propose it: the given
    name exact and the family name the same or a near spelling ("namesake"); the given name exact and
    the family name different, at one home ("surname changed at home"); the family name exact and the
    given name spelt another way (a typo, a transliteration), at one home ("given name spelt another
    way at home": ALEXANDER / ALEXANDRU HORVATH on council tax and the electoral roll)."""
    names = {comp.name: c for c, comp in enumerate(comparisons)}
    if "given_name" not in names or "family_name" not in names:
        return {}
    given, family = gamma[:, names["given_name"]], gamma[:, names["family_name"]]
    near_family = np.isin(family, _levels(comparisons[names["family_name"]], NEAR_SPELLINGS))
    proposals = {"namesake": (given == 1) & near_family}
    if "location" not in names:
        return proposals
    at_home = np.isin(gamma[:, names["location"]], _levels(comparisons[names["location"]], SHARED_HOME_LEVELS))
    different = len(comparisons[names["family_name"]].levels) - 1
    proposals["surname changed at home"] = (given == 1) & (family == different) & at_home
    spelt_apart = np.isin(given, _levels(comparisons[names["given_name"]], OTHER_SPELLINGS))
    proposals["given name spelt another way at home"] = spelt_apart & (family == 1) & at_home
    return proposals


def _index_pairs(pairs: set[tuple[str, str]], index: dict[str, int]) -> set[tuple[int, int]]:
    found = set()
    for a, b in pairs:
        if a in index and b in index and a != b:
            i, j = index[a], index[b]
            found.add((min(i, j), max(i, j)))
    return found


def _with_decided_pairs(pairs: ScoredPairs, decided: set[tuple[int, int]], table, model) -> ScoredPairs:
    """Score reviewed pairs that blocking did not produce, so decisions always take part."""
    n = len(table)
    existing = set((pairs.left * n + pairs.right).tolist()) if decided else set()
    missing = [(i, j) for i, j in decided if i * n + j not in existing]
    if not missing:
        return pairs
    left = np.array([i for i, _ in missing], dtype=np.int64)
    right = np.array([j for _, j in missing], dtype=np.int64)
    gamma = em.comparison_levels(table, model.comparisons, left, right)
    weight = match_weights(model, table, gamma, left)
    return ScoredPairs(
        np.concatenate((pairs.left, left)),
        np.concatenate((pairs.right, right)),
        np.concatenate((pairs.gamma, gamma)),
        np.concatenate((pairs.weight, weight)),
        np.concatenate((pairs.probability, probability(weight))),
    )
