"""Namesakes with one candidate each: persons the pairwise model could not join on its own.

A register record (electoral roll, council tax) carries a name and a home but no date of birth. When
its person moves, the register shows the new home while an employment or benefits record still has
the old postcode: the two agree on the full name and nothing else, and pairwise that is genuinely
ambiguous (in a borough, most such pairs are namesakes), so they stay below the match threshold.

Looking at whole persons settles many of them. Two persons are joined when:

1. they agree on given and family name (the family name exactly or as a near spelling: RAHMAN /
   REHMAN) in some compared pair that is not a clear non-match, and each is the other's only
   namesake that rules 2-4 allow (with two possible candidates, which one is unknowable; a namesake
   those rules exclude cannot be the person, so it is no rival). Candidates that rules 2-4 allow to
   be one person all together leave nothing to choose: persons connected by proposals are joined
   when every two of them pass rules 2-4;
2. no compared pair between them is a clear non-match (probability < ``CLEAR_NON_MATCH``: dates of
   birth a generation apart, a child's date of birth against an adults-only register, different
   identifiers) and no reviewer rejected one;
3. where both have dates of birth, they share one;
4. no source holds both of them from the same first extract. One person listed twice by a source
   from the same extract, at two homes, is less likely than two namesakes; a second record that a
   source starts to hold later is what a move looks like. This needs each record's source and first
   extract (the ``first_extract`` column, from ``batches``); without it the step does not run.

The same rules join **a surname changed at home**: a register record in a woman's new surname and
an employment record still in her old one share the given name and the home, nothing else. Proposed
by pairs whose given names agree exactly, whose family names differ, and which share a dwelling (or a
postcode where one side names no home), they are joined under rules 1-4 as above. A **given name spelt
another way at home** (ALEXANDER / ALEXANDRU HORVATH on council tax and the electoral roll at one
dwelling: a typo-like or transliterated given name, the surname exact) is the third kind; two such
people listed by one extract cannot be joined (:mod:`engine.matching.listed_apart`, rule 2). All
kinds of join are proposed together and compete in rule 1: SONIA CAMPBELL's employment record had a namesake's
register record elsewhere and her own register record as SONIA AZIZ at its postcode; joined kind by
kind, the namesake came first and took it.

Each join is recorded with the pair that proposed it, so ``hearth explain-match`` and the run's
params show why two records below the threshold share a person.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

import numpy as np

from engine.matching.clustering import CLEAR_NON_MATCH, pair_arrays
from engine.matching.records import RecordTable

#: per record: "<source> <first extract date>" (see rule 4)
FIRST_EXTRACT = "first_extract"


def join_namesakes(
    table: RecordTable,
    left: np.ndarray,
    right: np.ndarray,
    prob: np.ndarray,
    proposals: Mapping[str, np.ndarray],
    labels: np.ndarray,
    rejected: set[tuple[int, int]] | np.ndarray = frozenset(),
) -> list[dict]:
    """Join persons by the rules above, proposed by the pairs where a mask of ``proposals`` (kind of
    join -> bool per pair: the full name agrees; the given name agrees at a shared home; ...) is true.
    Every kind competes in rule 1: a person with a namesake elsewhere and a candidate under another
    name at home has two candidates, and which one is theirs is unknowable. ``labels`` is updated in
    place. Returns the joins made."""
    if not table.has(FIRST_EXTRACT):
        return []
    label_left, label_right = labels[left], labels[right]
    across = label_left != label_right
    # person pairs with a clear non-match between them, as one integer per pair (most compared pairs
    # across persons are clear non-matches: millions of them at 300,000 residents)
    size = len(labels)
    clear = across & (prob < CLEAR_NON_MATCH)
    low, high = np.minimum(label_left[clear], label_right[clear]), np.maximum(label_left[clear], label_right[clear])
    if isinstance(rejected, np.ndarray):  # sorted pair codes (min * n + max)
        first, second = rejected // size, rejected % size
    else:
        first, second = pair_arrays(rejected)
    first, second = labels[first].astype(np.int64), labels[second].astype(np.int64)
    # sorted, searched only for the few proposed pairs (a set of millions cost more to build)
    vetoed_codes = np.unique(np.concatenate((low.astype(np.int64) * size + high,
                                             np.minimum(first, second) * size + np.maximum(first, second))))

    def vetoed(key: tuple[int, int]) -> bool:
        code = key[0] * size + key[1]
        at = int(vetoed_codes.searchsorted(code))
        return at < vetoed_codes.size and int(vetoed_codes[at]) == code

    proposal: dict[tuple[int, int], int] = {}
    kind_of: dict[int, str] = {}
    for kind, proposes in proposals.items():
        for k in np.flatnonzero(across & proposes & (prob >= CLEAR_NON_MATCH)).tolist():
            kind_of.setdefault(k, kind)
            key = _key(int(label_left[k]), int(label_right[k]))
            if not vetoed(key) and (key not in proposal or prob[k] > prob[proposal[key]]):
                proposal[key] = k
    if not proposal:
        return []
    persons = np.fromiter({p for key in proposal for p in key}, dtype=labels.dtype)
    members: dict[int, list[int]] = defaultdict(list)
    for record in np.flatnonzero(np.isin(labels, persons)).tolist():
        members[int(labels[record])].append(record)
    births = {p: {table.values("date_of_birth")[r] for r in rs} - {None} for p, rs in members.items()}
    codes = table.codes(FIRST_EXTRACT)[0]
    extracts = {p: {int(codes[r]) for r in rs} - {-1} for p, rs in members.items()}
    def compatible(a: int, b: int) -> bool:  # rules 2-4
        return (not vetoed(_key(a, b)) and not (births[a] and births[b] and not births[a] & births[b])
                and not extracts[a] & extracts[b])

    # rules 2-4 first: a namesake who cannot be the person does not make the choice ambiguous
    possible = {(a, b): k for (a, b), k in proposal.items() if compatible(a, b)}
    joins = []
    for group in _connected(possible):
        persons_in = sorted({p for key in group for p in key})
        # rule 1: one candidate each; or candidates around a person that could all be one person
        # (ALEXANDRU HORVATH's register record, proposed with his employment record as a namesake and
        # with the council tax's ALEXANDER at his home) leave nothing to choose, so all are joined
        if len(persons_in) > 2 and not all(compatible(a, b) for i, a in enumerate(persons_in)
                                           for b in persons_in[i + 1:]):
            continue
        root = persons_in[0]
        for (a, b), k in sorted(group.items()):
            joins.append({"kind": kind_of[k], "records": (table.keys[int(left[k])], table.keys[int(right[k])]),
                          "probability": float(prob[k]), "persons_joined": (len(members[a]), len(members[b]))})
        for person in persons_in[1:]:
            for record in members[person]:
                labels[record] = root
    return joins


def _connected(proposals: dict[tuple[int, int], int]) -> list[dict[tuple[int, int], int]]:
    """The proposals grouped by connected persons."""
    parent: dict[int, int] = {}

    def root(p: int) -> int:
        while parent.setdefault(p, p) != p:
            parent[p] = parent[parent[p]]
            p = parent[p]
        return p

    for a, b in proposals:
        parent[root(a)] = root(b)
    groups: dict[int, dict[tuple[int, int], int]] = defaultdict(dict)
    for key, k in proposals.items():
        groups[root(key[0])][key] = k
    return [groups[g] for g in sorted(groups)]


def _key(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)
