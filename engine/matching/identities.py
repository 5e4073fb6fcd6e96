"""Stable person ids across match runs.

A new run's clusters inherit the previous run's ids by maximum record overlap: the (cluster, old id)
pairs sharing the most records are matched first, each old id to at most one cluster and each cluster
to at most one old id. Clusters left without an id get a new one; ids are never reused, so an id that
loses every record is retired for good. When a cluster gathers records of two or more old persons
that is a *merge*; when an old person's records end in two or more clusters that is a *split*; both
are reported with the evidence that caused them.

>>> result = assign_ids([["a:1", "a:2"], ["b:1"]], {"a:1": "P0000001", "a:2": "P0000001"}, 2)
>>> result.person_of["a:2"], result.person_of["b:1"], result.created
('P0000001', 'P0000002', ['P0000002'])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

Evidence = Callable[[list[list[str]]], list[dict]]


@dataclass
class IdentityAssignment:
    person_of: dict[str, str]
    created: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)


def format_person_id(number: int) -> str:
    return f"P{number:07d}"


def assign_ids(
    clusters: list[list[str]],
    previous: dict[str, str],
    next_number: int,
    evidence: Evidence | None = None,
) -> IdentityAssignment:
    """Ids for ``clusters`` (lists of record keys) given the previous run's ``record -> person``.

    Worked on arrays (a borough's nightly run has ~300,000 clusters, nearly all holding one old
    person's records): the overlaps of (cluster, old id) are counted with NumPy and taken in the order
    (most shared records, old id, cluster).
    """
    keys = [key for members in clusters for key in members]
    sizes = np.fromiter(map(len, clusters), dtype=np.int64, count=len(clusters))
    cluster_of = np.repeat(np.arange(len(clusters)), sizes)
    olds = list(map(previous.get, keys))
    names = sorted(set(olds) - {None})  # old ids in string order, so codes sort as the ids do
    code_of = {name: code for code, name in enumerate(names)}
    code_of[None] = -1
    old_code = np.fromiter(map(code_of.__getitem__, olds), dtype=np.int64, count=len(olds))
    known = old_code >= 0
    pair, counts = np.unique(cluster_of[known] * max(len(names), 1) + old_code[known], return_counts=True)
    pair_cluster, pair_old = pair // max(len(names), 1), pair % max(len(names), 1)
    order = np.lexsort((pair_cluster, pair_old, -counts))  # most shared records first; ties by id, cluster
    id_of_cluster: dict[int, str] = {}
    taken: set[int] = set()
    for index, old in zip(pair_cluster[order].tolist(), pair_old[order].tolist()):
        if index in id_of_cluster or old in taken:
            continue
        id_of_cluster[index] = names[old]
        taken.add(old)
    result = IdentityAssignment(person_of={})
    ids = []
    for index in range(len(clusters)):
        if index not in id_of_cluster:
            id_of_cluster[index] = format_person_id(next_number)
            result.created.append(id_of_cluster[index])
            next_number += 1
        ids.append(id_of_cluster[index])
    result.person_of = dict(zip(keys, np.repeat(np.array(ids, dtype=object), sizes).tolist()))
    result.retired = sorted(set(previous.values()) - {names[old] for old in taken})
    olds_per_cluster = np.bincount(pair_cluster, minlength=len(clusters))
    clusters_per_old = np.bincount(pair_old, minlength=len(names))
    merged = set(np.flatnonzero(olds_per_cluster > 1).tolist())
    split = {names[old] for old in np.flatnonzero(clusters_per_old > 1).tolist()}
    involved = merged | set(pair_cluster[np.isin(pair_old, np.flatnonzero(clusters_per_old > 1))].tolist())
    result.events = _events(clusters, id_of_cluster, previous, evidence, sorted(involved), split)
    return result


def _events(clusters, id_of_cluster, previous, evidence: Evidence | None, involved: list[int],
            split_olds: set[str]) -> list[dict]:
    """Merges (a cluster holding records of several old persons), in cluster order, then splits (an
    old person's records in several clusters), by old id. Only the ``involved`` clusters are walked."""
    events = []
    parts_of_old: dict[str, dict[str, list[str]]] = {}
    for index in involved:
        by_old: dict[str, list[str]] = {}
        for key in clusters[index]:
            if key in previous:
                by_old.setdefault(previous[key], []).append(key)
                if previous[key] in split_olds:
                    parts_of_old.setdefault(previous[key], {}).setdefault(id_of_cluster[index], []).append(key)
        if len(by_old) > 1:
            groups = [sorted(keys) for _, keys in sorted(by_old.items())]
            events.append({
                "kind": "merge",
                "before": sorted(by_old),
                "after": [id_of_cluster[index]],
                "evidence": {"records": {old: sorted(keys) for old, keys in by_old.items()},
                             "links": evidence(groups) if evidence else []},
            })
    for old_id, parts in sorted(parts_of_old.items()):
        if len(parts) > 1:
            groups = [sorted(keys) for _, keys in sorted(parts.items())]
            events.append({
                "kind": "split",
                "before": [old_id],
                "after": sorted(parts),
                "evidence": {"records": {new: sorted(keys) for new, keys in parts.items()},
                             "links": evidence(groups) if evidence else []},
            })
    return events
