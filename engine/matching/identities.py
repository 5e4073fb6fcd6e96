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

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

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
    """Ids for ``clusters`` (lists of record keys) given the previous run's ``record -> person``."""
    # each cluster's records' previous ids, looked up once: most clusters hold one old person's records
    olds_of = [[previous.get(key) for key in members] for members in clusters]
    distinct_olds = [set(olds) for olds in olds_of]
    overlaps = []
    for index, (olds, distinct) in enumerate(zip(olds_of, distinct_olds)):
        if len(distinct) == 1:
            (old_id,) = distinct
            if old_id is not None:
                overlaps.append((-len(olds), old_id, index))
            continue
        counts = Counter(old for old in olds if old is not None)
        overlaps.extend((-count, old_id, index) for old_id, count in counts.items())
    overlaps.sort()  # most shared records first; ties broken by id so reruns are deterministic
    id_of_cluster: dict[int, str] = {}
    taken: set[str] = set()
    for _, old_id, index in overlaps:
        if index in id_of_cluster or old_id in taken:
            continue
        id_of_cluster[index] = old_id
        taken.add(old_id)
    result = IdentityAssignment(person_of={})
    for index, members in enumerate(clusters):
        if index not in id_of_cluster:
            id_of_cluster[index] = format_person_id(next_number)
            result.created.append(id_of_cluster[index])
            next_number += 1
        result.person_of.update(dict.fromkeys(members, id_of_cluster[index]))
    result.retired = sorted(set(previous.values()) - taken)
    result.events = _events(clusters, id_of_cluster, previous, evidence, distinct_olds)
    return result


def _events(clusters, id_of_cluster, previous, evidence: Evidence | None, distinct_olds) -> list[dict]:
    """Merges (a cluster holding records of several old persons), in cluster order, then splits (an
    old person's records in several clusters), by old id. Only the clusters involved are walked."""
    clusters_of_old: Counter[str] = Counter(old for olds in distinct_olds for old in olds if old is not None)
    split_olds = {old for old, count in clusters_of_old.items() if count > 1}
    events = []
    parts_of_old: dict[str, dict[str, list[str]]] = {}
    for index, members in enumerate(clusters):
        olds = distinct_olds[index] - {None}
        if len(olds) < 2 and not olds & split_olds:
            continue
        by_old: dict[str, list[str]] = {}
        for key in members:
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
