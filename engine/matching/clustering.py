"""From scored pairs to persons.

1. Links are the pairs at or above the match threshold, plus pairs a reviewer confirmed; pairs a
   reviewer rejected are never links.
2. Connected components of the links are candidate persons.
3. Chain guard. Transitivity can chain A-B-C into one person although A and C clearly differ (two
   brothers linked through a record with only a surname and address). A component is re-clustered
   when it contains a rejected pair or any compared pair that is more likely a non-match than a
   match (probability < 0.5). Re-clustering is average linkage with constraints: links are taken
   strongest first, and two groups merge only if (a) no rejected pair spans them and (b) over every
   compared pair spanning them, the mean match probability is at least 0.5, i.e. on the evidence we
   have, the groups are more likely one person than two, and (c) no compared pair spanning them is a
   clear non-match (probability < ``CLEAR_NON_MATCH``). (c) matters in households: a parent and a
   child who share a name both link to the parent's council tax record, which has no date of birth;
   between {parent, council tax} and the child the mean is about 0.5, yet the parent and child differ
   in date of birth by a generation. Confirmed links are merged first and always.

Every refused merge is reported, so a split is explainable.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

GUARD_PROBABILITY = 0.5
#: a compared pair below this is two people, whatever other pairs between their groups say
CLEAR_NON_MATCH = 0.01


@dataclass
class ClusterResult:
    labels: np.ndarray  # cluster label per record (the smallest record index in the cluster)
    refused_merges: list[dict] = field(default_factory=list)
    guarded_components: int = 0


def connected_components(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Label per node = smallest node index in its component (min-label propagation + jumping)."""
    labels = np.arange(n)
    if left.size == 0:
        return labels
    while True:
        low = np.minimum(labels[left], labels[right])
        before = labels.copy()
        np.minimum.at(labels, left, low)
        np.minimum.at(labels, right, low)
        while True:  # pointer jumping: follow labels to their roots
            jumped = labels[labels]
            if np.array_equal(jumped, labels):
                break
            labels = jumped
        if np.array_equal(labels, before):
            return labels


def cluster(
    n: int,
    left: np.ndarray,
    right: np.ndarray,
    prob: np.ndarray,
    threshold: float,
    *,
    confirmed: set[tuple[int, int]] = frozenset(),
    rejected: set[tuple[int, int]] | np.ndarray = frozenset(),
) -> ClusterResult:
    """Cluster ``n`` records from scored pairs (``left < right``); ``rejected`` pairs are a set or
    their sorted :func:`pair_codes`."""
    pair_prob = prob.copy()
    keys = left * n + right
    for a, b in confirmed:
        _set_prob(keys, pair_prob, n, a, b, 1.0)
    is_rejected = contains(rejected if isinstance(rejected, np.ndarray) else pair_codes(rejected, n), keys)
    linked = (pair_prob >= threshold) & ~is_rejected
    extra_left = np.array([min(a, b) for a, b in confirmed], dtype=np.int64)
    extra_right = np.array([max(a, b) for a, b in confirmed], dtype=np.int64)
    labels = connected_components(
        n, np.concatenate((left[linked], extra_left)), np.concatenate((right[linked], extra_right))
    )
    same = labels[left] == labels[right]
    doubtful = same & ((pair_prob < GUARD_PROBABILITY) | is_rejected)
    result = ClusterResult(labels=labels)
    suspect_components = np.unique(labels[left[doubtful]])
    if suspect_components.size == 0:
        return result
    in_suspect = same & np.isin(labels[left], suspect_components)
    positions = np.flatnonzero(in_suspect)
    order = positions[np.argsort(labels[left[positions]], kind="stable")]
    component_of = labels[left[order]]
    bounds = np.flatnonzero(np.diff(component_of)) + 1
    confirmed_keys = {min(a, b) * n + max(a, b) for a, b in confirmed}
    for chunk in np.split(order, bounds):
        _guarded_merge(
            left[chunk], right[chunk], pair_prob[chunk], is_rejected[chunk], threshold,
            {k for k in keys[chunk].tolist() if k in confirmed_keys}, n, result,
        )
    result.guarded_components = int(suspect_components.size)
    result.labels = labels
    return result


def pair_codes(pairs: set[tuple[int, int]], n: int) -> np.ndarray:
    """Sorted distinct ``min * n + max`` of record pairs (hundreds of thousands of listed-apart pairs
    in a borough: done in NumPy, not pair by pair)."""
    first, second = pair_arrays(pairs)
    return np.unique(np.minimum(first, second) * n + np.maximum(first, second))


def pair_arrays(pairs: set[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """The pairs' first and second records as two arrays (in the set's iteration order)."""
    if not pairs:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    first, second = zip(*pairs)
    return np.fromiter(first, np.int64, len(pairs)), np.fromiter(second, np.int64, len(pairs))


def contains(sorted_codes: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Per code, whether it is among ``sorted_codes`` (``np.isin`` without sorting ``codes``)."""
    if sorted_codes.size == 0:
        return np.zeros(codes.shape, dtype=bool)
    at = np.minimum(np.searchsorted(sorted_codes, codes), sorted_codes.size - 1)
    return sorted_codes[at] == codes


def _set_prob(keys, prob, n, a, b, value) -> None:
    hit = np.flatnonzero(keys == min(a, b) * n + max(a, b))
    prob[hit] = value


def _guarded_merge(left, right, prob, rejected, threshold, confirmed_keys, n, result: ClusterResult) -> None:
    """Average-linkage re-clustering of one component (see module docstring); updates result.labels."""
    members = sorted(set(left.tolist()) | set(right.tolist()))
    group = {r: r for r in members}
    groups: dict[int, set[int]] = {r: {r} for r in members}
    # evidence between groups: sum and count of probabilities of compared pairs, and rejections
    evidence: dict[tuple[int, int], list[float]] = defaultdict(lambda: [0.0, 0, False, 1.0])
    for a, b, p, rej in zip(left.tolist(), right.tolist(), prob.tolist(), rejected.tolist()):
        entry = evidence[(a, b)]
        entry[0] += p
        entry[1] += 1
        entry[2] = entry[2] or rej
        entry[3] = min(entry[3], p)
    order = sorted(
        range(len(left)),
        key=lambda k: (-(int(left[k]) * n + int(right[k]) in confirmed_keys), -prob[k]),
    )
    for k in order:
        a, b = group[int(left[k])], group[int(right[k])]
        forced = int(left[k]) * n + int(right[k]) in confirmed_keys
        if a == b or rejected[k] or (prob[k] < threshold and not forced):
            continue
        entry = evidence[(min(a, b), max(a, b))]
        mean = entry[0] / entry[1]
        if entry[2] or ((mean < GUARD_PROBABILITY or entry[3] < CLEAR_NON_MATCH) and not forced):
            result.refused_merges.append(
                {"link": (int(left[k]), int(right[k])), "probability": float(prob[k]),
                 "mean_probability_between_groups": mean, "rejected_pair_between_groups": bool(entry[2]),
                 "groups": (sorted(groups[a]), sorted(groups[b]))}
            )
            continue
        keep, gone = min(a, b), max(a, b)
        for r in groups[gone]:
            group[r] = keep
        groups[keep] |= groups.pop(gone)
        # fold the absorbed group's evidence into the survivor's
        for other in list(groups):
            if other == keep:
                continue
            moved = evidence.pop((min(gone, other), max(gone, other)), None)
            if moved is None:
                continue
            target = evidence[(min(keep, other), max(keep, other))]
            target[0] += moved[0]
            target[1] += moved[1]
            target[2] = target[2] or moved[2]
            target[3] = min(target[3], moved[3])
    for root, rs in groups.items():
        for r in rs:
            result.labels[r] = root
